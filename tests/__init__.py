from . import test_access
from . import test_concurrency
from . import test_done_stage
from . import test_draft_invoice
from . import test_failures
from . import test_never_twice
from . import test_query_count
from . import test_views
