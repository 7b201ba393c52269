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
    milestone_retention_type = fields.Selection(
        [("held", "Retention held"), ("released", "Retention released")],
        copy=False,
        readonly=True,
    )

    def init(self):
        res = super().init()
        # A milestone is billed at most once while its invoice is live, whatever
        # path (rule, job, button, a cancelled draft reset) tries to bill it again.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS account_move_line_milestone_live_uniq
                    ON account_move_line (milestone_id)
                 WHERE milestone_id IS NOT NULL AND parent_state != 'cancel'
                """
            )
        )
        return res
