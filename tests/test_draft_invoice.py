from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestDraftInvoice(MilestoneBillingCommon):
    def test_done_task_drafts_the_milestone_invoice(self):
        self.assertEqual(self.phase2.billing_state, "planned")
        self.assertEqual(self.phase2.billing_amount, 35000.0)

        self.finish(self.task2)

        self.assertTrue(self.phase2.is_reached)
        invoice = self.phase2.invoice_line_ids.move_id
        self.assertEqual(len(invoice), 1)
        self.assertRecordValues(
            invoice,
            [
                {
                    "move_type": "out_invoice",
                    "state": "draft",
                    "partner_id": self.order.partner_invoice_id.id,
                    "currency_id": self.order.currency_id.id,
                    "invoice_payment_term_id": self.order.payment_term_id.id,
                    "fiscal_position_id": self.fiscal_pos_a.id,
                    "company_id": self.order.company_id.id,
                    "invoice_origin": self.order.name,
                    "amount_untaxed": 35000.0,
                }
            ],
        )
        self.assertRecordValues(
            invoice.invoice_line_ids,
            [
                {
                    "milestone_id": self.phase2.id,
                    "quantity": 0.35,
                    "price_unit": 100000.0,
                    "price_subtotal": 35000.0,
                    "tax_ids": self.line.tax_id.ids,
                    "analytic_distribution": {
                        str(self.analytic_account_sale.id): 100.0
                    },
                    "sale_line_ids": self.line.ids,
                }
            ],
        )
        self.assertIn(self.phase2.name, invoice.invoice_line_ids.name)
        self.assertEqual(self.phase2.billing_state, "draft")
        self.assertEqual(self.phase2.invoice_id, invoice)
        self.assertEqual(invoice.milestone_ids, self.phase2)
        self.assertEqual(self.line.qty_invoiced, 0.35)
        self.assertEqual(self.line.qty_to_invoice, 0.0)
        # The delivered travel line stays for AR to invoice the native way.
        self.assertEqual(self.order.order_line[1].qty_invoiced, 0.0)
        self.assertEqual(self.order.order_line[1].invoice_status, "to invoice")
        self.assertEqual(
            (self.phase1 | self.phase3).mapped("billing_state"), ["planned", "planned"]
        )

    def test_native_create_invoice_finds_nothing_more_for_the_milestone(self):
        self.finish(self.task2)
        self.order.order_line[1].qty_delivered = 0
        with self.assertRaises(UserError):
            self.order._create_invoices()
        self.order.order_line[1].qty_delivered = 10
        native = self.order._create_invoices()
        self.assertEqual(
            native.invoice_line_ids.sale_line_ids, self.order.order_line[1]
        )
        self.assertEqual(self.line.qty_invoiced, 0.35)

    def test_milestone_invoiced_natively_first_is_not_billed_again(self):
        # The rule is off: the milestone is reached and AR invoices the order.
        self.deactivate_rule(
            "milestone_billing.base_automation_milestone_reached_draft_invoice"
        )
        self.finish(self.task2)
        self.assertEqual(self.phase2.billing_state, "to_invoice")
        self.order._create_invoices()
        self.assertEqual(self.line.qty_invoiced, 0.35)
        with self.assertRaisesRegex(UserError, "left to invoice"):
            self.phase2.action_create_draft_invoice()
        self.assertFalse(self.phase2.invoice_line_ids)

    def test_milestones_reached_together_share_one_draft(self):
        self.finish(self.task1 | self.task3)
        invoice = self.phase1.invoice_line_ids.move_id
        self.assertEqual(invoice, self.phase3.invoice_line_ids.move_id)
        self.assertEqual(len(invoice.invoice_line_ids), 2)
        self.assertEqual(
            invoice.invoice_line_ids.milestone_id, self.phase1 | self.phase3
        )
        self.assertEqual(invoice.amount_untaxed, 65000.0)
        self.assertEqual(self.line.qty_invoiced, 0.65)

    def test_mass_edit_across_orders_bills_each_milestone_once(self):
        other = self._create_engagement(
            shares=(0.5, 0.5), amount=20000.0, partner=self.partner_b, name="Audit"
        )
        tasks = self.task1 | self.task2 | other["tasks"]
        self.finish(tasks)
        milestones = self.phase1 | self.phase2 | other["milestones"]
        self.assertEqual(milestones.mapped("billing_state"), ["draft"] * 4)
        self.assertEqual(len(milestones.invoice_line_ids), 4)
        invoices = milestones.invoice_line_ids.move_id
        self.assertEqual(len(invoices), 2, "one draft per order")
        self.assertEqual(sorted(invoices.mapped("amount_untaxed")), [20000.0, 65000.0])
        self.assertEqual(other["line"].qty_invoiced, 1.0)

    def test_manual_reach_drafts_the_invoice(self):
        self.phase1.is_reached = True
        self.end_transaction()
        self.assertEqual(self.phase1.billing_state, "draft")
        self.assertEqual(self.phase1.invoice_line_ids.price_subtotal, 30000.0)

    def test_posted_then_paid(self):
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        invoice.action_post()
        self.assertEqual(self.phase2.billing_state, "posted")
        self.pay(invoice)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(self.phase2.billing_state, "paid")

    def test_billing_state_is_tracked(self):
        self.finish(self.task2)
        tracked = self.phase2.message_ids.tracking_value_ids.filtered(
            lambda t: t.field_id.name == "billing_state"
        )
        self.assertEqual(tracked[:1].new_value_char, "Draft Invoice")

    def test_manual_button_for_a_selection(self):
        self.deactivate_rule(
            "milestone_billing.base_automation_milestone_reached_draft_invoice"
        )
        self.finish(self.task1 | self.task2)
        self.assertEqual(
            (self.phase1 | self.phase2).mapped("billing_state"), ["to_invoice"] * 2
        )
        action = (self.phase1 | self.phase2).action_create_draft_invoice()
        invoice = self.phase1.invoice_id
        self.assertEqual(action["res_id"], invoice.id)
        self.assertEqual(self.phase2.invoice_id, invoice)
        self.assertEqual(self.phase1.action_view_invoice()["res_id"], invoice.id)
        self.assertEqual(
            invoice.action_view_milestones()["domain"],
            [("id", "in", (self.phase1 | self.phase2).ids)],
        )

    def test_manual_button_refuses_unreached_milestones(self):
        with self.assertRaisesRegex(UserError, "not reached"):
            self.phase3.action_create_draft_invoice()

    def test_invoiced_milestone_cannot_change_line(self):
        self.finish(self.task2)
        with self.assertRaisesRegex(UserError, "another sales order line"):
            self.phase2.sale_line_id = self.order.order_line[1]


@tagged("post_install", "-at_install")
class TestEngagementLifecycle(MilestoneBillingCommon):
    def test_phase_two_from_done_to_paid(self):
        """$100,000 billed 30/35/35: Phase 2 from the Kanban to the bank."""
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        self.assertRecordValues(
            invoice,
            [
                {
                    "state": "draft",
                    "amount_untaxed": 35000.0,
                    "partner_id": self.partner_a.id,
                }
            ],
        )
        self.assertEqual(invoice.invoice_line_ids.sale_line_ids, self.line)

        for _drag in range(2):
            self.reopen(self.task2)
            self.finish(self.task2)
        live = self.phase2.invoice_line_ids.filtered(
            lambda line: line.parent_state != "cancel"
        )
        self.assertEqual(len(live), 1)
        invoice = live.move_id

        # AR's native "Create Invoice" bills the travel, nothing more of Phase 2.
        self.assertFalse(self.order._get_invoiceable_lines() & self.line)
        native = self.order._create_invoices()
        self.assertEqual(
            native.invoice_line_ids.sale_line_ids, self.order.order_line[1]
        )
        self.assertEqual(self.line.qty_invoiced, 0.35)

        invoice.action_post()
        self.assertEqual(self.phase2.billing_state, "posted")
        self.pay(invoice)
        self.assertEqual(self.phase2.billing_state, "paid")

        self.finish(self.task1 | self.task3)
        self.assertEqual(
            (self.phase1 | self.phase3).mapped("billing_state"), ["draft", "draft"]
        )
        self.assertEqual(self.line.qty_invoiced, 1.0)
        self.assertEqual(self.line.invoice_status, "invoiced")
