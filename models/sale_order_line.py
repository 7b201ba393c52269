from collections import defaultdict

from odoo import api, fields, models
from odoo.tools import float_is_zero, float_round


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    milestone_uncovered_percentage = fields.Float(
        "Not in Milestones (%)",
        compute="_compute_milestone_uncovered",
        help="Share of the line that no billing milestone bills yet.",
    )
    milestone_uncovered_amount = fields.Monetary(
        "Not in Milestones",
        compute="_compute_milestone_uncovered",
        currency_field="currency_id",
    )

    progress_milestone_ids = fields.One2many(
        "project.milestone",
        "sale_line_id",
        string="Progress-Billed Milestones",
        domain=[("progress_billing", "=", True)],
        export_string_translation=False,
    )

    @api.depends(
        "progress_milestone_ids.progress_billing",
        "progress_milestone_ids.progress_percent",
        "progress_milestone_ids.is_reached",
        "progress_milestone_ids.quantity_percentage",
    )
    def _compute_qty_delivered(self):
        super()._compute_qty_delivered()
        lines = self.filtered(lambda line: line.qty_delivered_method == "milestones")
        if not lines:
            return
        # The progress recorded on a milestone billed by progress is work
        # delivered: the order line can invoice it before the milestone is reached.
        milestones = (
            self.env["project.milestone"]
            .sudo()
            .search(
                [
                    ("sale_line_id", "in", lines._origin.ids),
                    ("progress_billing", "=", True),
                    ("is_reached", "=", False),
                ]
            )
        )
        progress_shares = defaultdict(float)
        for milestone in milestones:
            progress_shares[milestone.sale_line_id.id] += (
                milestone.quantity_percentage * milestone.progress_percent / 100.0
            )
        for line in lines:
            line.qty_delivered += (
                progress_shares[line.id or line._origin.id] * line.product_uom_qty
            )

    @api.depends("price_subtotal", "qty_delivered_method")
    def _compute_milestone_uncovered(self):
        coverage = dict(
            self.env["project.milestone"]
            .sudo()
            ._read_group(
                [("sale_line_id", "in", self.ids)],
                ["sale_line_id"],
                ["quantity_percentage:sum"],
            )
        )
        for line in self:
            if line.qty_delivered_method != "milestones":
                line.milestone_uncovered_percentage = 0.0
                line.milestone_uncovered_amount = 0.0
                continue
            uncovered = max(1.0 - coverage.get(line, 0.0), 0.0)
            line.milestone_uncovered_percentage = uncovered
            line.milestone_uncovered_amount = line.currency_id.round(
                line.price_subtotal * uncovered
            )

    def _handle_milestones(self, project):
        """Keep the shares given to the template's milestones, if they all have one."""
        milestones = project.milestone_ids.filtered(lambda m: not m.sale_line_id)
        if (
            self.product_id.service_policy != "delivered_milestones"
            or not milestones
            or not all(milestones.mapped("template_percentage"))
        ):
            return super()._handle_milestones(project)
        for milestone in milestones:
            milestone.write(
                {
                    "sale_line_id": self.id,
                    "quantity_percentage": milestone.template_percentage,
                }
            )

    def _get_milestone_deduction(self, share, precision):
        """(quantity, unit price) of this down payment to deduct on a milestone invoice.

        The quantity keeps the order line's invoiced quantity right; the unit
        price makes the amount exact although quantities are rounded.

        :param share: the milestones' share of the order, or None to deduct all
            that remains
        """
        self.ensure_one()
        remaining_qty = self.qty_to_invoice
        if share is not None:
            quantity = max(
                -float_round(share, precision_digits=precision), remaining_qty
            )
            if not float_is_zero(quantity, precision_digits=precision):
                return quantity, self.price_unit * share / -quantity
        # What the live invoices of this down payment have not deducted yet.
        remaining_amount = sum(
            line.price_unit
            * line.quantity
            * (-1 if line.move_id.move_type == "out_refund" else 1)
            for line in self.invoice_lines
            if line.parent_state != "cancel"
        )
        if float_is_zero(remaining_qty, precision_digits=precision):
            return remaining_qty, self.price_unit
        return remaining_qty, remaining_amount / -remaining_qty
