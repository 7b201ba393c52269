from . import account_move
from . import account_move_line
from . import project_milestone
from . import project_task
from . import project_task_type
from . import res_company
from . import res_config_settings
from . import sale_order
