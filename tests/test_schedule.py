from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestScheduleAmounts(MilestoneBillingCommon):
    def test_amount_or_percentage_stay_in_sync(self):
        self.phase3.billing_amount = 20000.0
        self.assertAlmostEqual(self.phase3.quantity_percentage, 0.20)
        self.phase3.quantity_percentage = 0.35
        self.assertEqual(self.phase3.billing_amount, 35000.0)
        self.phase3.billing_amount = 20000.0
        self.finish(self.task3)
        self.assertEqual(self.phase3.invoice_id.amount_untaxed, 20000.0)

    def test_schedule_over_the_line_is_refused(self):
        with self.assertRaisesRegex(ValidationError, "cannot exceed 100%"):
            self.phase3.quantity_percentage = 0.5
        with self.assertRaisesRegex(ValidationError, "cannot exceed 100%"):
            self.env["project.milestone"].create(
                {
                    "name": "Extra workshop",
                    "project_id": self.project.id,
                    "sale_line_id": self.line.id,
                    "billing_amount": 1000.0,
                }
            )

    def test_order_line_shows_what_milestones_do_not_cover(self):
        self.assertEqual(self.line.milestone_uncovered_amount, 0.0)
        self.phase3.billing_amount = 20000.0
        self.line.invalidate_recordset(["milestone_uncovered_amount"])
        self.assertEqual(self.line.milestone_uncovered_amount, 15000.0)
        self.assertAlmostEqual(self.line.milestone_uncovered_percentage, 0.15)
        travel = self.order.order_line[1]
        self.assertEqual(
            travel.milestone_uncovered_amount, 0.0, "not billed by milestones"
        )
