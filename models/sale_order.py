from odoo import models

from .project_milestone import BILLING_CONTEXT_KEY


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def _get_invoiceable_lines(self, final=False):
        milestone_ids = self.env.context.get(BILLING_CONTEXT_KEY)
        if milestone_ids is None:
            return super()._get_invoiceable_lines(final=final)
        # Billing milestones must not sweep the order's other delivered lines
        # (nor its down payments) into the milestone's draft.
        billed_lines = self.env["project.milestone"].browse(milestone_ids).sale_line_id
        return self.order_line.filtered(lambda line: line in billed_lines)

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
