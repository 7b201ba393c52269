from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    milestone_billing_user_id = fields.Many2one(
        "res.users",
        string="Milestone Billing Responsible",
        domain="[('share', '=', False)]",
        help="Gets an activity when a milestone invoice cannot be drafted. "
        "Defaults to the salesperson of the order.",
    )
    milestone_billing_late_days = fields.Integer(
        string="Milestone Billing Delay",
        default=2,
        help="Days a reached milestone may wait for its posted invoice before it is "
        "shown as late.",
    )
