from psycopg2.errors import UniqueViolation

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestNeverTwice(MilestoneBillingCommon):
    def live_lines(self, milestone):
        return milestone.invoice_line_ids.filtered(
            lambda line: line.parent_state != "cancel"
        )

    def test_back_and_forth_keeps_one_draft(self):
        self.finish(self.task2)
        first = self.phase2.invoice_id
        for _round in range(3):
            self.reopen(self.task2)
            self.finish(self.task2)
        self.assertEqual(len(self.live_lines(self.phase2)), 1)
        self.assertEqual(self.line.qty_invoiced, 0.35)
        self.assertEqual(self.phase2.billing_state, "draft")
        # The first draft held only this milestone: reopening cancelled it.
        self.assertEqual(first.state, "cancel")

    def test_reopening_removes_only_that_milestones_line(self):
        self.finish(self.task1 | self.task2)
        invoice = self.phase1.invoice_id
        self.reopen(self.task1)
        self.assertEqual(invoice.state, "draft")
        self.assertEqual(invoice.invoice_line_ids.milestone_id, self.phase2)
        self.assertEqual(self.phase1.billing_state, "planned")
        self.assertTrue(
            any(self.phase1.name in str(m.body) for m in invoice.message_ids)
        )

    def test_rule_firing_twice_bills_once(self):
        self.finish(self.task2)
        self.phase2._auto_create_draft_invoices()
        self.phase2._auto_create_draft_invoices()
        self.end_transaction()
        self.assertEqual(len(self.live_lines(self.phase2)), 1)
        with self.assertRaisesRegex(UserError, "nothing left to invoice"):
            self.phase2.action_create_draft_invoice()

    def test_reopened_after_posting_leaves_accounting_alone(self):
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        invoice.action_post()
        self.reopen(self.task2)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.amount_untaxed, 35000.0)
        self.assertFalse(self.phase2.is_reached)
        self.assertEqual(self.phase2.billing_state, "posted")
        activity = invoice.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn(self.phase2.name, activity.note)
        self.finish(self.task2)
        self.assertEqual(
            len(self.live_lines(self.phase2)), 1, "finished again, never billed again"
        )

    def test_cancelled_draft_is_not_recreated(self):
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        invoice.button_cancel()
        self.assertEqual(self.phase2.billing_state, "to_invoice")
        self.assertFalse(self.phase2.billing_pending)
        self.env["project.milestone"]._cron_process_billing()
        self.end_transaction()
        self.assertFalse(self.live_lines(self.phase2))
        # AR bills it again on purpose.
        self.phase2.action_create_draft_invoice()
        self.assertEqual(len(self.live_lines(self.phase2)), 1)
        with self.assertRaisesRegex(UserError, "invoiced again"):
            invoice.button_draft()

    def test_reversed_invoice_is_not_billed_again_automatically(self):
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        invoice.action_post()
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"journal_id": invoice.journal_id.id})
        )
        reversal.refund_moves()
        self.assertEqual(
            self.line.qty_invoiced,
            0.0,
            "the credit note makes the line invoiceable again",
        )
        self.reopen(self.task2)
        self.finish(self.task2)
        self.env["project.milestone"]._cron_process_billing()
        self.end_transaction()
        self.assertEqual(self.live_lines(self.phase2).move_id, invoice)
        self.assertFalse(self.phase2.billing_pending)

    def test_database_refuses_a_second_live_line(self):
        self.finish(self.task2)
        other = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.partner_a.id,
                "invoice_line_ids": [
                    Command.create({"name": "dup", "price_unit": 1.0})
                ],
            }
        )
        with mute_logger("odoo.sql_db"), self.assertRaises(UniqueViolation):
            other.invoice_line_ids.milestone_id = self.phase2
            self.env.flush_all()
