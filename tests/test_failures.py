from odoo.tests import new_test_user, tagged

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestFailures(MilestoneBillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ar_user = new_test_user(
            cls.env,
            login="ar_clerk",
            groups="account.group_account_invoice,project.group_project_user",
        )
        cls.sale_journals = cls.env["account.journal"].search(
            [("type", "=", "sale"), ("company_id", "=", cls.env.company.id)]
        )
        cls.activity_type = cls.env.ref(
            "milestone_billing.mail_activity_type_milestone_billing"
        )

    def billing_activities(self, milestone):
        return milestone.activity_ids.filtered(
            lambda a: a.activity_type_id == self.activity_type
        )

    def test_no_sales_journal_keeps_the_stage_and_records_the_reason(self):
        self.env.company.milestone_billing_user_id = self.ar_user
        self.sale_journals.action_archive()

        self.finish(self.task2)

        self.assertEqual(
            self.task2.stage_id, self.stage_done, "the PM's stage change stands"
        )
        self.assertTrue(self.phase2.is_reached)
        self.assertFalse(self.phase2.invoice_line_ids)
        self.assertRecordValues(
            self.phase2, [{"billing_state": "to_invoice", "billing_pending": True}]
        )
        self.assertIn("journal", self.phase2.billing_error.lower())
        activity = self.billing_activities(self.phase2)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.ar_user)
        self.assertTrue(
            any("could not be created" in str(m.body) for m in self.phase2.message_ids)
        )

        # Retries while it still fails: one activity, not one per retry.
        self.env["project.milestone"]._cron_process_billing()
        self.env["project.milestone"]._cron_process_billing()
        self.end_transaction()
        self.assertEqual(len(self.billing_activities(self.phase2)), 1)
        self.assertTrue(self.phase2.billing_pending)

        self.sale_journals.action_unarchive()
        self.env["project.milestone"]._cron_process_billing()
        self.end_transaction()
        self.assertRecordValues(
            self.phase2,
            [
                {
                    "billing_state": "draft",
                    "billing_pending": False,
                    "billing_error": False,
                }
            ],
        )
        self.assertFalse(self.billing_activities(self.phase2))
        self.assertEqual(self.phase2.invoice_id.amount_untaxed, 35000.0)

    def test_archived_customer_is_reported(self):
        self.order.partner_invoice_id.action_archive()
        self.finish(self.task1)
        self.assertTrue(self.phase1.billing_pending)
        self.assertIn("archived", self.phase1.billing_error)
        self.assertEqual(
            self.billing_activities(self.phase1).user_id,
            self.order.user_id,
            "without a configured responsible, the salesperson is told",
        )

    def test_one_failure_does_not_block_the_other_milestones(self):
        other = self._create_engagement(
            shares=(1.0,), amount=5000.0, partner=self.partner_b, name="Audit"
        )
        self.partner_b.action_archive()
        self.finish(self.task1 | other["tasks"])
        self.assertEqual(self.phase1.billing_state, "draft")
        self.assertTrue(other["milestones"].billing_pending)
        self.assertEqual(other["milestones"].billing_state, "to_invoice")

    def test_unconfirmed_order_is_reported(self):
        draft_order = self.order.copy()
        self.phase3.sudo().sale_line_id = draft_order.order_line[0]
        self.finish(self.task3)
        self.assertIn("not confirmed", self.phase3.billing_error)

    def test_job_batches_and_retriggers_itself(self):
        self.sale_journals.action_archive()
        self.finish(self.task1 | self.task2)
        self.assertEqual(
            (self.phase1 | self.phase2).mapped("billing_pending"), [True, True]
        )
        cron = self.env.ref("milestone_billing.ir_cron_milestone_billing")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        self.sale_journals.action_unarchive()
        self.env["project.milestone"]._cron_process_billing(batch_size=1)
        self.end_transaction()
        self.assertEqual(
            sorted((self.phase1 | self.phase2).mapped("billing_pending")),
            [False, True],
            "one per batch",
        )
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]))
        self.env["project.milestone"]._cron_process_billing(batch_size=1)
        self.end_transaction()
        self.assertEqual(
            (self.phase1 | self.phase2).mapped("billing_state"), ["draft", "draft"]
        )

    def test_unreached_milestone_is_no_longer_retried(self):
        self.sale_journals.action_archive()
        self.finish(self.task1)
        self.assertTrue(self.phase1.billing_pending)
        self.reopen(self.task1)
        self.assertFalse(self.phase1.billing_pending)
        self.assertFalse(self.phase1.billing_error)
        self.assertFalse(self.billing_activities(self.phase1))

    def test_job_clears_flags_of_projects_without_milestones(self):
        self.project.allow_milestones = False
        self.task1.sudo().milestone_sync_pending = True
        self.env["project.milestone"]._cron_process_billing()
        self.assertFalse(self.task1.milestone_sync_pending)
        self.assertFalse(self.phase1.is_reached)
