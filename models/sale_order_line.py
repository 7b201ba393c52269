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
