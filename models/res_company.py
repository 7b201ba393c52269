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
    milestone_billing_grouping = fields.Selection(
        [
            ("order", "One draft per sales order"),
            ("customer_day", "One draft per customer per day"),
        ],
        string="Milestone Invoices",
        default="order",
        required=True,
        help="One draft per customer per day gathers the milestones of all the "
        "customer's orders reached the same day on one invoice.",
    )
    milestone_retention_account_id = fields.Many2one(
        "account.account",
        string="Retention Account",
        check_company=True,
        help="Account of the retention (holdback) that milestone invoices withhold "
        "and that the retention release invoices.",
    )
    milestone_progress_period = fields.Selection(
        [("month", "Monthly"), ("quarter", "Quarterly")],
        string="Progress Billing Period",
        default="month",
        required=True,
        help="At the end of each period, the scheduled job drafts the invoices of "
        "the progress recorded on progress-billed milestones since their last "
        "invoice.",
    )
