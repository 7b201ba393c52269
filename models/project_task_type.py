from odoo import fields, models


class ProjectTaskType(models.Model):
    _inherit = "project.task.type"

    is_done_stage = fields.Boolean(
        string="Done stage",
        help="A task entering this stage is finished work: when all the tasks of a "
        "milestone are finished, the milestone is reached and its invoice drafted.",
    )
