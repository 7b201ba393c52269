from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare

from .project_milestone import ADJUSTMENT_CONTEXT_KEY, BILLING_CONTEXT_KEY


class SaleOrder(models.Model):
    _inherit = "sale.order"

    milestone_down_payment_mode = fields.Selection(
        [
            ("pro_rata", "Pro rata on each milestone"),
            ("native", "All at once on the next invoice"),
        ],
        string="Down Payment Deduction",
        default="pro_rata",
        required=True,
        help="How milestone invoices deduct the posted down payments of the order: "
        "each by its share of the order (the last one deducts what remains), or "
        "all of them on the next invoice, as Odoo does.",
    )
    retention_percent = fields.Float(
        "Retention (%)",
        help="Share of each milestone invoice withheld until its release.",
    )
    retention_held_amount = fields.Monetary(
        "Retention Held", compute="_compute_retention_amounts"
    )
    retention_released_amount = fields.Monetary(
        "Retention Released", compute="_compute_retention_amounts"
    )
    billing_milestone_count = fields.Integer(
        "Billing Milestones", compute="_compute_billing_milestones"
    )
    milestone_to_invoice_amount = fields.Monetary(
        "Milestones to Invoice",
        compute="_compute_billing_milestones",
        help="Untaxed amount of the reached milestones without a posted invoice.",
    )

    def _compute_billing_milestones(self):
        groups = (
            self.env["project.milestone"]
            .sudo()
            ._read_group(
                [("sale_line_id.order_id", "in", self.ids)],
                ["sale_line_id", "billing_state"],
                ["__count", "billing_amount:sum"],
            )
        )
        counts = dict.fromkeys(self.ids, 0)
        amounts = dict.fromkeys(self.ids, 0.0)
        for line, state, count, amount in groups:
            counts[line.order_id.id] += count
            if state in ("to_invoice", "draft"):
                amounts[line.order_id.id] += amount
        for order in self:
            order.billing_milestone_count = counts.get(order.id, 0)
            order.milestone_to_invoice_amount = amounts.get(order.id, 0.0)

    def _compute_retention_amounts(self):
        groups = (
            self.env["account.move.line"]
            .sudo()
            ._read_group(
                [
                    ("retention_order_id", "in", self.ids),
                    ("parent_state", "=", "posted"),
                ],
                ["retention_order_id", "milestone_retention_type"],
                ["amount_currency:sum"],
            )
        )
        # Signed amounts: a credit note gives back what its invoice withheld.
        totals = {(order.id, kind): amount for order, kind, amount in groups}
        for order in self:
            order.retention_held_amount = totals.get((order.id, "held"), 0.0)
            order.retention_released_amount = -totals.get((order.id, "released"), 0.0)

    @api.constrains("retention_percent")
    def _check_retention_percent(self):
        if any(not 0 <= order.retention_percent < 100 for order in self):
            raise ValidationError(_("A retention is a percentage from 0 to 100."))

    def action_release_retention(self):
        """Draft the invoice that releases what the milestone invoices withheld."""
        self.ensure_one()
        lines = (
            self.env["account.move.line"]
            .sudo()
            .search(
                [
                    ("retention_order_id", "=", self.id),
                    ("parent_state", "!=", "cancel"),
                ]
            )
        )
        if lines.filtered(
            lambda line: (
                line.milestone_retention_type == "released"
                and line.parent_state == "draft"
            )
        ):
            raise UserError(
                _("A retention release of %s is already in draft.", self.name)
            )
        held = lines.filtered(
            lambda line: (
                line.milestone_retention_type == "held"
                and line.parent_state == "posted"
            )
        )
        released = lines.filtered(
            lambda line: line.milestone_retention_type == "released"
        )
        # Signed amounts (withheld is a debit, released a credit), so credit
        # notes of milestone invoices count against what was withheld.
        amounts = {}
        for line in held | released:
            amounts[line.tax_ids] = (
                amounts.get(line.tax_ids, 0.0) + line.amount_currency
            )
        amounts = {
            taxes: amount
            for taxes, amount in amounts.items()
            if not self.currency_id.is_zero(amount)
        }
        if not amounts:
            raise UserError(
                _("%s has no withheld retention left to release.", self.name)
            )
        account = held.account_id[:1]
        invoice_vals = self.with_company(self.company_id)._prepare_invoice()
        invoice_vals["invoice_line_ids"] = [
            Command.create(
                {
                    "name": _("Release of the retention withheld on %s", self.name),
                    "account_id": account.id,
                    "quantity": 1.0,
                    "price_unit": amount,
                    "tax_ids": [Command.set(taxes.ids)],
                    "retention_order_id": self.id,
                    "milestone_retention_type": "released",
                }
            )
            for taxes, amount in amounts.items()
        ]
        move = self._create_account_invoices([invoice_vals], final=False)
        return self.action_view_invoice(move.with_env(self.env))

    def action_view_billing_milestones(self):
        self.ensure_one()
        return self.env["project.milestone"]._get_billing_milestones_action(
            _("Milestones of %(order)s", order=self.name),
            [("sale_line_id.order_id", "=", self.id)],
        )

    def _get_billing_schedule(self):
        self.ensure_one()
        milestones = (
            self.env["project.milestone"]
            .sudo()
            .search([("sale_line_id.order_id", "=", self.id)])
        )
        return milestones._get_billing_schedule()

    def _get_invoiceable_lines(self, final=False):
        milestone_ids = self.env.context.get(BILLING_CONTEXT_KEY)
        if milestone_ids is None:
            return super()._get_invoiceable_lines(final=final)
        # Billing milestones must not sweep the order's other delivered lines
        # into the milestone's draft; down payments are deducted as the order says.
        billed_lines = self.env["project.milestone"].browse(milestone_ids).sale_line_id
        lines = self.order_line.filtered(lambda line: line in billed_lines)
        if self.env.context.get(ADJUSTMENT_CONTEXT_KEY):
            return lines
        return lines | self._get_milestone_down_payment_lines()

    def _get_milestone_down_payment_lines(self):
        """Posted down payments left to deduct, that milestone invoices deduct."""
        precision = self.env["decimal.precision"].precision_get(
            "Product Unit of Measure"
        )
        return self.order_line.filtered(
            lambda line: (
                line.is_downpayment
                and not line.display_type
                and float_compare(line.qty_to_invoice, 0.0, precision_digits=precision)
                < 0
            )
        )

    def _create_account_invoices(self, invoice_vals_list, final):
        milestone_ids = self.env.context.get(BILLING_CONTEXT_KEY)
        if milestone_ids is not None:
            milestones = self.env["project.milestone"].browse(milestone_ids)
            for invoice_vals in invoice_vals_list:
                invoice_vals["invoice_line_ids"] = (
                    milestones._split_invoice_line_commands(
                        invoice_vals["invoice_line_ids"]
                    )
                )
        return super()._create_account_invoices(invoice_vals_list, final)
