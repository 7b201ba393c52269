from odoo.tests import HttpCase, new_test_user, tagged

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestBillingTour(MilestoneBillingCommon, HttpCase):
    """The browser flow: a PM drags a task to Done, an accountant posts the draft."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Folded columns take no drop in a tour: show Done open.
        cls.stage_done.fold = False
        cls.pm = cls._new_project_manager("tour_pm")
        cls.accountant = new_test_user(
            cls.env,
            login="tour_accountant",
            groups="account.group_account_invoice,project.group_project_user",
        )
        cls.project.user_id = cls.pm

    def test_pm_finishes_task_then_accountant_posts_draft(self):
        self.start_tour("/odoo", "milestone_billing_pm_tour", login="tour_pm")
        self.assertEqual(self.task2.stage_id, self.stage_done)
        invoice = self.phase2.invoice_id
        self.assertEqual(invoice.state, "draft")
        self.assertEqual(invoice.amount_untaxed, 35000.0)

        self.start_tour(
            "/odoo", "milestone_billing_accountant_tour", login="tour_accountant"
        )
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(self.phase2.billing_state, "posted")
