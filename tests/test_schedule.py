from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import BillingStructureHelpers, MilestoneBillingCommon


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


@tagged("post_install", "-at_install")
class TestForeignCurrency(MilestoneBillingCommon):
    def test_foreign_currency_order_bills_in_its_currency(self):
        eur = self.setup_other_currency("EUR")
        pricelist = self.env["product.pricelist"].create(
            {"name": "EUR customers", "currency_id": eur.id}
        )
        self.order.write({"state": "draft"})
        self.order.pricelist_id = pricelist
        self.order.order_line.write({"price_unit": 100000.0})
        self.order.order_line[1].price_unit = 150.0
        self.order.action_confirm()
        self.assertEqual(self.order.currency_id, eur)
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        self.assertEqual(invoice.currency_id, eur)
        self.assertEqual(invoice.amount_untaxed, 35000.0)
        self.assertEqual(invoice.invoice_line_ids.tax_ids, self.line.tax_id)
        self.env.flush_all()
        row = self.env["milestone.billing.report"].search(
            [("milestone_id", "=", self.phase2.id)]
        )
        self.assertEqual(row.amount, 35000.0)
        self.assertAlmostEqual(
            row.amount_company, 35000.0 / self.order.currency_rate, places=2
        )
        self.assertNotEqual(row.amount_company, row.amount)


@tagged("post_install", "-at_install")
class TestTemplateShares(MilestoneBillingCommon):
    def _milestone_product(self, name, template):
        return self.env["product.product"].create(
            {
                "name": name,
                "type": "service",
                "invoice_policy": "delivery",
                "service_type": "milestones",
                "service_tracking": "project_only",
                "project_template_id": template.id,
                "property_account_income_id": self.account_sale.id,
            }
        )

    def test_template_milestones_keep_their_shares(self):
        template = self.env["project.project"].create(
            {"name": "Assessment template", "allow_milestones": True}
        )
        self.env["project.milestone"].create(
            [
                {
                    "name": "Diagnostic",
                    "project_id": template.id,
                    "template_percentage": 0.4,
                },
                {
                    "name": "Roadmap",
                    "project_id": template.id,
                    "template_percentage": 0.6,
                },
            ]
        )
        product = self._milestone_product("Assessment", template)
        order = self.env["sale.order"].create(
            {
                "partner_id": self.partner_a.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 50000.0})
                ],
            }
        )
        order.action_confirm()
        milestones = order.order_line.project_id.milestone_ids.sorted("name")
        self.assertEqual(milestones.mapped("name"), ["Diagnostic", "Roadmap"])
        self.assertEqual(milestones.sale_line_id, order.order_line)
        self.assertEqual(milestones.mapped("quantity_percentage"), [0.4, 0.6])
        self.assertEqual(milestones.mapped("billing_amount"), [20000.0, 30000.0])

    def test_templates_without_shares_split_equally(self):
        template = self.env["project.project"].create(
            {"name": "Plain template", "allow_milestones": True}
        )
        self.env["project.milestone"].create(
            [{"name": name, "project_id": template.id} for name in ("A", "B")]
        )
        product = self._milestone_product("Plain", template)
        order = self.env["sale.order"].create(
            {
                "partner_id": self.partner_a.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 1000.0})
                ],
            }
        )
        order.action_confirm()
        milestones = order.order_line.project_id.milestone_ids
        self.assertEqual(milestones.mapped("quantity_percentage"), [0.5, 0.5])


@tagged("post_install", "-at_install")
class TestConsolidation(MilestoneBillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls._create_engagement(
            shares=(0.5, 0.5), amount=20000.0, name="Audit"
        )

    def test_one_draft_per_order_by_default(self):
        self.finish(self.task1)
        self.finish(self.other["tasks"][0])
        self.assertNotEqual(
            self.phase1.invoice_id, self.other["milestones"][0].invoice_id
        )

    def test_one_draft_per_customer_per_day(self):
        self.env.company.milestone_billing_grouping = "customer_day"
        self.finish(self.task1)
        draft = self.phase1.invoice_id
        # Later the same day, another order of the same customer.
        self.finish(self.other["tasks"][0])
        self.assertEqual(self.other["milestones"][0].invoice_id, draft)
        self.assertEqual(len(draft.invoice_line_ids), 2)
        self.assertEqual(draft.amount_untaxed, 40000.0)
        self.assertIn(self.order.name, draft.invoice_origin)
        self.assertIn(self.other["order"].name, draft.invoice_origin)
        self.assertEqual(self.other["line"].qty_invoiced, 0.5)
        # Both reached in one mass edit: one draft too, the same one.
        self.finish(self.task2 | self.other["tasks"][1])
        self.assertEqual(self.phase2.invoice_id, draft)
        self.assertEqual(self.other["milestones"][1].invoice_id, draft)
        # A posted invoice is never reopened: the next milestone gets a new draft.
        draft.action_post()
        self.finish(self.task3)
        self.assertNotEqual(self.phase3.invoice_id, draft)
        self.assertEqual(self.phase3.invoice_id.state, "draft")


@tagged("post_install", "-at_install")
class TestDownPayments(BillingStructureHelpers, MilestoneBillingCommon):
    def test_down_payment_deducted_pro_rata_then_the_rest(self):
        self._post_down_payment(10)
        advance = sum(
            self.order.order_line.filtered("is_downpayment").mapped("price_unit")
        )
        self.finish(self.task2)
        phase2 = self.phase2.invoice_id
        # 10% advance on the order: Phase 2, 35% of it, deducts 3,500.
        self.assertAlmostEqual(self._deduction(phase2), 3500.0, places=2)
        self.assertAlmostEqual(phase2.amount_untaxed, 31500.0, places=2)
        self.finish(self.task1)
        phase1 = self.phase1.invoice_id
        self.assertAlmostEqual(self._deduction(phase1), 3000.0, places=2)
        self.finish(self.task3)
        last = self.phase3.invoice_id
        deducted = sum(self._deduction(move) for move in phase1 | phase2 | last)
        self.assertAlmostEqual(
            deducted, advance, places=2, msg="the last one takes the rest"
        )
        self.assertFalse(self.order._get_milestone_down_payment_lines())

    def test_native_mode_deducts_all_at_once(self):
        self.order.milestone_down_payment_mode = "native"
        self._post_down_payment(10)
        advance = sum(
            self.order.order_line.filtered("is_downpayment").mapped("price_unit")
        )
        self.finish(self.task2)
        self.assertAlmostEqual(
            self._deduction(self.phase2.invoice_id), advance, places=2
        )


@tagged("post_install", "-at_install")
class TestRetention(BillingStructureHelpers, MilestoneBillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._set_up_retention(5.0)

    def test_advance_and_retention_on_phase_two(self):
        """$100,000 with a 10% advance and 5% retention: Phase 2 drafts 29,750."""
        self._post_down_payment(10)
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        self.assertAlmostEqual(self._deduction(invoice), 3500.0, places=2)
        self.assertAlmostEqual(self._retention(invoice), 1750.0, places=2)
        self.assertAlmostEqual(invoice.amount_untaxed, 29750.0, places=2)
        retention_line = invoice.invoice_line_ids.filtered("milestone_retention_type")
        self.assertEqual(retention_line.account_id, self.retention_account)
        self.assertEqual(retention_line.tax_ids, self.line.tax_id)

    def test_release_drafts_the_total_withheld(self):
        self.finish(self.task1)
        self.phase1.invoice_id.action_post()
        self.finish(self.task2)
        self.phase2.invoice_id.action_post()
        self.finish(self.task3)  # still draft: not withheld yet
        self.assertEqual(self.order.retention_held_amount, 3250.0)
        action = self.order.action_release_retention()
        release = self.env["account.move"].browse(action["res_id"])
        self.assertEqual(release.state, "draft")
        self.assertAlmostEqual(release.amount_untaxed, 3250.0, places=2)
        self.assertEqual(release.invoice_line_ids.account_id, self.retention_account)
        with self.assertRaisesRegex(UserError, "already in draft"):
            self.order.action_release_retention()
        release.action_post()
        self.order.invalidate_recordset(["retention_released_amount"])
        self.assertEqual(self.order.retention_released_amount, 3250.0)
        self.env.flush_all()
        report = self.env["milestone.billing.report"].search(
            [("milestone_id", "in", (self.phase1 | self.phase2 | self.phase3).ids)],
            order="milestone_id",
        )
        self.assertRecordValues(
            report,
            [
                {"retention_held_amount": 1500.0, "retention_released_amount": 1500.0},
                {"retention_held_amount": 1750.0, "retention_released_amount": 1750.0},
                {"retention_held_amount": 0.0, "retention_released_amount": 0.0},
            ],
        )
        # Phase 3 posted later: only its own retention is left to release.
        self.phase3.invoice_id.action_post()
        action = self.order.action_release_retention()
        second = self.env["account.move"].browse(action["res_id"])
        self.assertAlmostEqual(second.amount_untaxed, 1750.0, places=2)

    def test_change_orders_withhold_and_give_back_their_retention(self):
        self.finish(self.task2)
        self.phase2.invoice_id.action_post()
        self.phase3.billing_amount = 30000.0
        self.phase2.billing_amount = 40000.0
        adjustments = self.phase2.invoice_line_ids.filtered("milestone_adjustment")
        supplement = adjustments.move_id
        self.assertAlmostEqual(self._retention(supplement), 250.0, places=2)
        self.assertAlmostEqual(supplement.amount_untaxed, 4750.0, places=2)
        supplement.action_post()
        self.phase2.billing_amount = 30000.0
        credit_note = (
            self.phase2.invoice_line_ids.filtered("milestone_adjustment").move_id
            - supplement
        )
        self.assertEqual(credit_note.move_type, "out_refund")
        # 10,000 less, of which 500 had been withheld.
        self.assertAlmostEqual(credit_note.amount_untaxed, 9500.0, places=2)
        credit_note.action_post()
        self.order.invalidate_recordset(["retention_held_amount"])
        self.assertAlmostEqual(self.order.retention_held_amount, 1500.0, places=2)
        action = self.order.action_release_retention()
        release = self.env["account.move"].browse(action["res_id"])
        self.assertAlmostEqual(release.amount_untaxed, 1500.0, places=2)

    def test_missing_retention_account_is_reported(self):
        self.env.company.milestone_retention_account_id = False
        self.finish(self.task2)
        self.assertTrue(self.phase2.billing_pending)
        self.assertIn("retention account", self.phase2.billing_error)


@tagged("post_install", "-at_install")
class TestChangeOrders(MilestoneBillingCommon):
    def _grow_phase_two(self):
        self.phase3.quantity_percentage = 0.30
        self.phase2.billing_amount = 40000.0

    def test_draft_invoice_follows_the_new_amount(self):
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        self._grow_phase_two()
        self.assertEqual(self.phase2.invoice_id, invoice)
        self.assertEqual(invoice.amount_untaxed, 40000.0)
        self.assertEqual(self.line.qty_invoiced, 0.40)
        self.assertTrue(
            any("Amount changed" in str(m.body) for m in self.phase2.message_ids)
        )

    def test_posted_invoice_gets_a_supplement_or_a_credit_note(self):
        self.finish(self.task2)
        invoice = self.phase2.invoice_id
        invoice.action_post()
        self._grow_phase_two()
        supplement = self.phase2.invoice_line_ids.filtered(
            "milestone_adjustment"
        ).move_id
        self.assertRecordValues(
            supplement,
            [{"move_type": "out_invoice", "state": "draft", "amount_untaxed": 5000.0}],
        )
        self.assertEqual(invoice.amount_untaxed, 35000.0, "posted accounting untouched")
        self.assertEqual(self.line.qty_invoiced, 0.40)
        supplement.action_post()
        self.phase2.billing_amount = 30000.0
        credit_note = (
            self.phase2.invoice_line_ids.filtered("milestone_adjustment").move_id
            - supplement
        )
        self.assertRecordValues(
            credit_note,
            [{"move_type": "out_refund", "state": "draft", "amount_untaxed": 10000.0}],
        )
        self.assertEqual(self.line.qty_invoiced, 0.30)
        self.assertEqual(self.phase2.billing_state, "posted")
        documents = " ".join(str(m.body) for m in self.phase2.message_ids)
        self.assertIn(f'data-oe-id="{supplement.id}"', documents)
        self.assertIn(f'data-oe-id="{credit_note.id}"', documents)
