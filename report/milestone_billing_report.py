from odoo import api, fields, models
from odoo.tools import SQL

from ..models.project_milestone import BILLING_STATES


class MilestoneBillingReport(models.Model):
    """Billing lag of billable milestones: reached -> draft -> posted -> paid."""

    _name = "milestone.billing.report"
    _description = "Milestone Billing Lag"
    _auto = False
    _rec_name = "milestone_id"
    _order = "reached_date desc, id desc"

    milestone_id = fields.Many2one("project.milestone", readonly=True)
    project_id = fields.Many2one("project.project", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    project_user_id = fields.Many2one("res.users", "Project Manager", readonly=True)
    salesperson_id = fields.Many2one("res.users", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    currency_id = fields.Many2one("res.currency", readonly=True)
    company_currency_id = fields.Many2one("res.currency", readonly=True)
    billing_state = fields.Selection(BILLING_STATES, readonly=True)
    amount = fields.Monetary(currency_field="currency_id", readonly=True)
    amount_company = fields.Monetary(
        "Amount in Company Currency",
        currency_field="company_currency_id",
        readonly=True,
    )
    deadline = fields.Date(readonly=True)
    reached_date = fields.Date(readonly=True)
    draft_date = fields.Date("Draft Created", readonly=True)
    posted_date = fields.Date("Posted", readonly=True)
    paid_date = fields.Date("Paid On", readonly=True)
    days_late = fields.Float(aggregator="avg", readonly=True)
    days_reached_to_draft = fields.Float(
        "Days Reached to Draft", aggregator="avg", readonly=True
    )
    days_draft_to_posted = fields.Float(
        "Days Draft to Posted", aggregator="avg", readonly=True
    )
    days_reached_to_posted = fields.Float(
        "Days Reached to Posted", aggregator="avg", readonly=True
    )
    days_posted_to_paid = fields.Float(
        "Days Posted to Paid", aggregator="avg", readonly=True
    )
    days_reached_to_paid = fields.Float(
        "Days Reached to Paid", aggregator="avg", readonly=True
    )
    unbilled_amount_company = fields.Monetary(
        "Unbilled Amount",
        currency_field="company_currency_id",
        readonly=True,
        help="Amount reached but not posted yet, in company currency.",
    )
    retention_held_amount = fields.Monetary(
        "Retention Held",
        currency_field="currency_id",
        readonly=True,
        help="Withheld on the posted invoices of the milestone.",
    )
    retention_released_amount = fields.Monetary(
        "Retention Released",
        currency_field="currency_id",
        readonly=True,
        help="The milestone's share of the posted retention releases of its order.",
    )
    unbilled_age = fields.Selection(
        [
            ("0_7", "0-7 days"),
            ("8_30", "8-30 days"),
            ("31_60", "31-60 days"),
            ("61_plus", "60+ days"),
        ],
        "Waiting Since",
        readonly=True,
    )

    _depends = {
        "project.milestone": [
            "project_id",
            "sale_line_id",
            "billing_state",
            "billing_amount",
            "deadline",
            "reached_date",
        ],
        "project.project": ["user_id"],
        "sale.order.line": ["order_id"],
        "sale.order": [
            "partner_id",
            "user_id",
            "company_id",
            "currency_id",
            "currency_rate",
        ],
        "account.move.line": [
            "milestone_id",
            "parent_state",
            "move_id",
            "retention_order_id",
            "retention_milestone_id",
            "milestone_retention_type",
            "amount_currency",
        ],
        "account.move": ["state", "invoice_date", "payment_state", "create_date"],
        "account.partial.reconcile": ["debit_move_id", "max_date"],
    }

    @property
    def _table_query(self) -> SQL:
        return SQL("%s %s %s", self._select(), self._from(), self._where())

    @api.model
    def _select(self) -> SQL:
        return SQL(
            """
            SELECT milestone.id AS id,
                   milestone.id AS milestone_id,
                   milestone.project_id AS project_id,
                   sale_order.partner_id AS partner_id,
                   project.user_id AS project_user_id,
                   sale_order.user_id AS salesperson_id,
                   sale_order.company_id AS company_id,
                   sale_order.currency_id AS currency_id,
                   company.currency_id AS company_currency_id,
                   milestone.billing_state AS billing_state,
                   milestone.billing_amount AS amount,
                   milestone.billing_amount
                       / COALESCE(NULLIF(sale_order.currency_rate, 0), 1)
                       AS amount_company,
                   milestone.deadline AS deadline,
                   milestone.reached_date AS reached_date,
                   invoice.draft_date AS draft_date,
                   invoice.posted_date AS posted_date,
                   invoice.paid_date AS paid_date,
                   GREATEST(milestone.reached_date - milestone.deadline, 0)
                       AS days_late,
                   invoice.draft_date - milestone.reached_date AS days_reached_to_draft,
                   invoice.posted_date - invoice.draft_date AS days_draft_to_posted,
                   invoice.posted_date - milestone.reached_date
                       AS days_reached_to_posted,
                   invoice.paid_date - invoice.posted_date AS days_posted_to_paid,
                   invoice.paid_date - milestone.reached_date AS days_reached_to_paid,
                   retention.held AS retention_held_amount,
                   -- Releases are per order: each milestone gets its share.
                   CASE WHEN retention.order_held != 0
                        THEN retention.order_released * retention.held
                             / retention.order_held
                        ELSE 0
                   END AS retention_released_amount,
                   CASE WHEN %(unbilled)s
                        THEN milestone.billing_amount
                             / COALESCE(NULLIF(sale_order.currency_rate, 0), 1)
                   END AS unbilled_amount_company,
                   CASE WHEN NOT %(unbilled)s THEN NULL
                        WHEN CURRENT_DATE - milestone.reached_date <= 7 THEN '0_7'
                        WHEN CURRENT_DATE - milestone.reached_date <= 30 THEN '8_30'
                        WHEN CURRENT_DATE - milestone.reached_date <= 60 THEN '31_60'
                        ELSE '61_plus'
                   END AS unbilled_age
            """,
            unbilled=SQL(
                "(milestone.reached_date IS NOT NULL"
                " AND milestone.billing_state IN ('to_invoice', 'draft'))"
            ),
        )

    @api.model
    def _from(self) -> SQL:
        return SQL(
            """
            FROM project_milestone milestone
            JOIN project_project project ON project.id = milestone.project_id
            JOIN sale_order_line sale_line ON sale_line.id = milestone.sale_line_id
            JOIN sale_order ON sale_order.id = sale_line.order_id
            JOIN res_company company ON company.id = sale_order.company_id
            LEFT JOIN LATERAL (%s) invoice ON TRUE
            LEFT JOIN LATERAL (%s) retention ON TRUE
            """,
            self._invoice_dates_query(),
            self._retention_query(),
        )

    @api.model
    def _retention_query(self) -> SQL:
        """Posted retention of the milestone and of its order, signed amounts."""
        return SQL(
            """
            SELECT COALESCE(SUM(line.amount_currency) FILTER (
                        WHERE line.milestone_retention_type = 'held'
                          AND line.retention_milestone_id = milestone.id), 0)
                       AS held,
                   COALESCE(SUM(line.amount_currency) FILTER (
                        WHERE line.milestone_retention_type = 'held'), 0)
                       AS order_held,
                   -COALESCE(SUM(line.amount_currency) FILTER (
                        WHERE line.milestone_retention_type = 'released'), 0)
                       AS order_released
              FROM account_move_line line
             WHERE line.retention_order_id = sale_order.id
               AND line.parent_state = 'posted'
            """
        )

    @api.model
    def _invoice_dates_query(self) -> SQL:
        """Dates of the live invoice of the milestone; paid from its reconciliation."""
        return SQL(
            """
            SELECT MIN(move.create_date)::date AS draft_date,
                   MIN(move.invoice_date) FILTER (WHERE move.state = 'posted')
                       AS posted_date,
                   CASE WHEN BOOL_AND(move.payment_state IN ('paid', 'in_payment'))
                        THEN MAX(payment.paid_date)
                   END AS paid_date
              FROM account_move_line line
              JOIN account_move move ON move.id = line.move_id
              LEFT JOIN LATERAL (
                    SELECT MAX(part.max_date) AS paid_date
                      FROM account_move_line term
                      JOIN account_partial_reconcile part
                        ON part.debit_move_id = term.id
                     WHERE term.move_id = move.id
                       AND term.display_type = 'payment_term'
              ) payment ON TRUE
             WHERE line.milestone_id = milestone.id
               AND line.parent_state != 'cancel'
            """
        )

    @api.model
    def _where(self) -> SQL:
        return SQL("WHERE milestone.sale_line_id IS NOT NULL")
