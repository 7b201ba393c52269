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
