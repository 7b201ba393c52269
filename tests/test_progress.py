from datetime import date

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import BillingStructureHelpers, MilestoneBillingCommon

NOVEMBER_END = date(2026, 11, 30)
MID_DECEMBER = date(2026, 12, 15)
DECEMBER_END = date(2026, 12, 31)


@tagged("post_install", "-at_install")
class TestProgressBilling(BillingStructureHelpers, MilestoneBillingCommon):
    """Phase 2 ($35,000) is billed monthly against its recorded progress."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.phase2.progress_billing = True

    def _bill_period(self, today):
        before = self.phase2.sudo()._get_live_invoice_lines().move_id
        self.env["project.milestone"]._cron_bill_progress(today=today)
        self.phase2.invalidate_recordset()
        return self.phase2.sudo()._get_live_invoice_lines().move_id - before

    def _progress_line(self, move):
        return move.invoice_line_ids.filtered(
            lambda line: line.milestone_id == self.phase2
        )

    def test_period_ends(self):
        Milestone = self.env["project.milestone"]
        company = self.env.company
        self.assertEqual(company.milestone_progress_period, "month")
        self.assertEqual(
            Milestone._get_progress_period_end(company, MID_DECEMBER), NOVEMBER_END
        )
        self.assertEqual(
            Milestone._get_progress_period_end(company, DECEMBER_END), DECEMBER_END
        )
        company.milestone_progress_period = "quarter"
        self.assertEqual(
            Milestone._get_progress_period_end(company, MID_DECEMBER),
            date(2026, 9, 30),
        )
        self.assertEqual(
            Milestone._get_progress_period_end(company, DECEMBER_END), DECEMBER_END
        )

    def test_each_period_bills_the_increment_until_done(self):
        self.phase2.progress_percent = 40
        # Recorded progress is delivered work on the order line.
        self.assertAlmostEqual(self.line.qty_delivered, 0.14, places=4)
        first = self._bill_period(NOVEMBER_END)
        self.assertEqual(first.state, "draft")
        self.assertEqual(first.move_type, "out_invoice")
        self.assertAlmostEqual(first.amount_untaxed, 14000.0, places=2)
        self.assertIn("Progress to 40", self._progress_line(first).name)
        self.assertEqual(self.phase2.progress_billed_date, NOVEMBER_END)
        self.assertAlmostEqual(self.line.qty_invoiced, 0.14, places=4)
        self.assertEqual(self.phase2.progress_invoiced_percent, 40.0)
        self.assertEqual(self.phase2.billing_state, "draft")
        first.action_post()

        self.phase2.progress_percent = 75
        self.assertFalse(self._bill_period(NOVEMBER_END), "November is billed")
        self.assertFalse(self._bill_period(MID_DECEMBER), "December is not over")
        second = self._bill_period(DECEMBER_END)
        self.assertAlmostEqual(second.amount_untaxed, 12250.0, places=2)

        # Reaching the milestone completes it: the rest is billed at once.
        self.finish(self.task2)
        self.assertEqual(self.phase2.progress_percent, 100.0)
        third = self.phase2.sudo()._get_live_invoice_lines().move_id - first - second
        self.assertAlmostEqual(third.amount_untaxed, 8750.0, places=2)
        self.assertAlmostEqual(self.line.qty_invoiced, 0.35, places=4)
        self.assertAlmostEqual(
            sum((first | second | third).mapped("amount_untaxed")), 35000.0, places=2
        )
        self.assertFalse(self._bill_period(date(2027, 1, 31)), "nothing past 100%")

    def test_odd_percentages_add_up_to_the_amount(self):
        for percent, period in ((33.33, NOVEMBER_END), (66.67, DECEMBER_END)):
            self.phase2.progress_percent = percent
            self._bill_period(period)
        self.phase2.progress_percent = 100
        self._bill_period(date(2027, 1, 31))
        moves = self.phase2.sudo()._get_live_invoice_lines().move_id
        self.assertEqual(len(moves), 3)
        self.assertAlmostEqual(sum(moves.mapped("amount_untaxed")), 35000.0, places=2)
        self.assertAlmostEqual(self.line.qty_invoiced, 0.35, places=4)

    def test_recorded_progress_is_delivered_quantity(self):
        self.phase2.progress_percent = 40
        self.assertAlmostEqual(self.line.qty_delivered, 0.14, places=4)
        self.assertEqual(self.line.invoice_status, "to invoice")
        self.phase2.progress_billing = False
        self.assertAlmostEqual(self.line.qty_delivered, 0.0, places=4)
        self.phase2.progress_billing = True
        self.assertAlmostEqual(self.line.qty_delivered, 0.14, places=4)
        self.finish(self.task1)
        # Phase 1 reached (30%) and Phase 2 at 40% of its 35%.
        self.assertAlmostEqual(self.line.qty_delivered, 0.44, places=4)

    def test_discounted_order_line_bills_the_net_progress(self):
        self.line.discount = 10.0
        self.assertAlmostEqual(self.phase2.billing_amount, 31500.0, places=2)
        self.phase2.progress_percent = 40
        invoice = self._bill_period(NOVEMBER_END)
        line = self._progress_line(invoice)
        self.assertEqual(line.discount, 10.0)
        self.assertAlmostEqual(invoice.amount_untaxed, 12600.0, places=2)

    def test_progress_never_goes_past_100(self):
        with self.assertRaisesRegex(ValidationError, "between 0% and 100%"):
            self.phase2.progress_percent = 120
        with self.assertRaisesRegex(ValidationError, "between 0% and 100%"):
            self.phase2.progress_percent = -5

    def test_going_back_proposes_a_credit_note(self):
        self.phase2.progress_percent = 60
        invoice = self._bill_period(NOVEMBER_END)
        invoice.action_post()
        self.phase2.progress_percent = 40
        credit_note = self._bill_period(DECEMBER_END)
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.state, "draft", "a proposal AR decides on")
        self.assertAlmostEqual(credit_note.amount_untaxed, 7000.0, places=2)
        self.assertIn("Progress correction", self._progress_line(credit_note).name)
        self.assertIn("went back from 60", self.phase2.message_ids[0].body)
        self.assertTrue(
            self.phase2.activity_ids.filtered(
                lambda a: a.summary == "Review the progress credit note"
            )
        )
        self.assertEqual(self.phase2.progress_invoiced_percent, 40.0)
        self.assertFalse(self._bill_period(date(2027, 1, 31)))

    def test_progress_invoices_deduct_advance_and_retention(self):
        self._set_up_retention(5.0)
        self._post_down_payment(10)
        self.phase2.progress_percent = 40
        invoice = self._bill_period(NOVEMBER_END)
        # 40% of Phase 2 is 14,000: 10% of it is deducted, 5% withheld.
        self.assertAlmostEqual(self._deduction(invoice), 1400.0, places=2)
        self.assertAlmostEqual(self._retention(invoice), 700.0, places=2)
        self.assertAlmostEqual(invoice.amount_untaxed, 11900.0, places=2)

    def test_bill_progress_now_and_rights(self):
        pm = self._new_project_manager("progress_pm")
        salesman = new_test_user(
            self.env,
            login="progress_salesman",
            groups="sales_team.group_sale_salesman,project.group_project_user",
        )
        # The PM records progress but does not set how the contract bills.
        self.phase2.with_user(pm).progress_percent = 20
        with self.assertRaises(AccessError):
            self.phase1.with_user(pm).progress_billing = True
        action = self.phase2.with_user(salesman).action_bill_progress()
        invoice = self.env["account.move"].browse(action["res_id"])
        self.assertAlmostEqual(invoice.amount_untaxed, 7000.0, places=2)
        with self.assertRaisesRegex(UserError, "invoiced already"):
            self.phase2.with_user(salesman).action_bill_progress()
        with self.assertRaisesRegex(UserError, "cannot change"):
            self.phase2.progress_billing = False

    def test_failures_are_recorded_and_retried(self):
        self.phase2.progress_percent = 50
        self.order.partner_invoice_id.active = False
        self.assertFalse(self._bill_period(NOVEMBER_END))
        self.assertTrue(self.phase2.billing_pending)
        self.assertIn("archived", self.phase2.billing_error)
        self.assertFalse(self.phase2.progress_billed_date)
        self.order.partner_invoice_id.active = True
        self.env["project.milestone"]._cron_process_billing()
        self.assertFalse(self.phase2.billing_pending)
        invoice = self.phase2.sudo()._get_live_invoice_lines().move_id
        self.assertAlmostEqual(invoice.amount_untaxed, 17500.0, places=2)
