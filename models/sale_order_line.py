from odoo import api, fields, models


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
