from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    milestone_billing_user_id = fields.Many2one(
        related="company_id.milestone_billing_user_id",
        readonly=False,
    )
    milestone_billing_late_days = fields.Integer(
        related="company_id.milestone_billing_late_days",
        readonly=False,
    )
    milestone_billing_grouping = fields.Selection(
        related="company_id.milestone_billing_grouping",
        readonly=False,
    )
    milestone_retention_account_id = fields.Many2one(
        related="company_id.milestone_retention_account_id",
        readonly=False,
    )
    milestone_progress_period = fields.Selection(
        related="company_id.milestone_progress_period",
        readonly=False,
    )
