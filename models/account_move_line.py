from odoo import fields, models
from odoo.tools import SQL


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    milestone_id = fields.Many2one(
        "project.milestone",
        string="Billed Milestone",
        index="btree_not_null",
        copy=False,
        readonly=True,
        ondelete="restrict",
    )

    retention_order_id = fields.Many2one(
        "sale.order",
        string="Retention of Order",
        index="btree_not_null",
        copy=False,
        readonly=True,
    )
    retention_milestone_id = fields.Many2one(
        "project.milestone",
        string="Retention of Milestone",
        index="btree_not_null",
        copy=False,
        readonly=True,
    )
    milestone_retention_type = fields.Selection(
        [("held", "Retention held"), ("released", "Retention released")],
        copy=False,
        readonly=True,
    )

    milestone_adjustment = fields.Boolean(
        "Partial Milestone Billing",
        copy=False,
        readonly=True,
        help="Bills part of a milestone: a progress increment, or the change of "
        "its amount after its invoice was posted.",
    )

    def init(self):
        res = super().init()
        # A milestone is billed at most once while its invoice is live, whatever
        # path (rule, job, button, a cancelled draft reset) tries to bill it again.
        self.env.cr.execute(
            SQL(
                """
                DROP INDEX IF EXISTS account_move_line_milestone_live_uniq;
                CREATE UNIQUE INDEX account_move_line_milestone_live_uniq
                    ON account_move_line (milestone_id)
                 WHERE milestone_id IS NOT NULL
                   AND parent_state != 'cancel'
                   AND milestone_adjustment IS NOT TRUE
                """
            )
        )
        return res
