from odoo.tests import tagged

from .common import MilestoneBillingCommon

# One task finished (its milestone reached, its draft created) in one request;
# the delivered quantity of the order line also reads its progress-billed
# milestones.
QUERIES_SINGLE = 96
# Ten orders, twenty milestones and tasks finished in one mass edit: ten drafts.
QUERIES_BATCH_OF_TEN_ORDERS = 596


@tagged("post_install", "-at_install")
class TestQueryCount(MilestoneBillingCommon):
    """Guards against per-record queries sneaking into the billing path."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.engagements = [
            cls._create_engagement(
                shares=(0.5, 0.5), amount=10000.0 * index, name=f"Batch {index}"
            )
            for index in range(1, 11)
        ]

    def test_single_task_finished(self):
        # Warm the caches every request would find warm.
        self.finish(self.task1)
        with self.assertQueryCount(QUERIES_SINGLE):
            self.task2.write({"stage_id": self.stage_done.id})
            self.end_transaction()
        self.assertEqual(self.phase2.billing_state, "draft")

    def test_batch_finishing_costs_less_per_invoice(self):
        self.finish(self.task1)
        tasks = self.env["project.task"].concat(
            *(engagement["tasks"] for engagement in self.engagements)
        )
        with self.assertQueryCount(QUERIES_BATCH_OF_TEN_ORDERS):
            tasks.write({"stage_id": self.stage_done.id})
            self.end_transaction()
        milestones = self.env["project.milestone"].concat(
            *(engagement["milestones"] for engagement in self.engagements)
        )
        self.assertEqual(set(milestones.mapped("billing_state")), {"draft"})
        self.assertEqual(len(milestones.invoice_line_ids.move_id), 10)
