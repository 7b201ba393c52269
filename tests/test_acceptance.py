import re

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import BillingStructureHelpers, MilestoneBillingCommon

# A 1x1 PNG: what the portal's signature pad sends, base64-encoded.
SIGNATURE = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
    "AAAABJRU5ErkJggg=="
)


class AcceptanceCommon(MilestoneBillingCommon):
    """Phase 2 requires the acceptance of the customer, a company with a portal user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner_a.write({"is_company": True, "email": "ap@customer-a.example"})
        cls.client_contact = cls.env["res.partner"].create(
            {
                "name": "Jane Client",
                "parent_id": cls.partner_a.id,
                "email": "jane@customer-a.example",
            }
        )
        cls.client_user = new_test_user(
            cls.env,
            login="client_jane",
            name="Jane Client",
            groups="base.group_portal",
            partner_id=cls.client_contact.id,
        )
        cls.other_client = new_test_user(
            cls.env,
            login="client_other",
            groups="base.group_portal",
            partner_id=cls.partner_b.id,
        )
        cls.pm = cls._new_project_manager("acceptance_pm")
        cls.project.user_id = cls.pm
        cls.phase2.write(
            {
                "requires_acceptance": True,
                "deliverable_summary": "<p>Target operating model, 40 pages</p>",
            }
        )

    def _acceptance_requests(self, milestone):
        return self.env["mail.message"].search(
            [
                ("model", "=", "project.milestone"),
                ("res_id", "=", milestone.id),
                ("partner_ids", "in", self.partner_a.ids),
            ]
        )

    def _rejection_activities(self, milestone):
        activity_type = self.env.ref(
            "milestone_billing.mail_activity_type_milestone_rejected"
        )
        return milestone.activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type
        )


@tagged("post_install", "-at_install")
class TestAcceptanceGate(AcceptanceCommon):
    def test_new_milestones_need_no_acceptance(self):
        self.assertEqual(self.phase1.acceptance_state, "not_required")
        self.assertEqual(self.phase2.acceptance_state, "waiting")
        self.phase2.requires_acceptance = False
        self.assertEqual(self.phase2.acceptance_state, "not_required")

    def test_dropping_the_gate_bills_and_is_for_billing_users(self):
        self.finish(self.task2)
        with self.assertRaises(AccessError):
            self.phase2.with_user(self.pm).requires_acceptance = False
        salesman = new_test_user(
            self.env,
            login="acceptance_salesman",
            groups="sales_team.group_sale_salesman,project.group_project_user",
        )
        self.phase2.with_user(salesman).requires_acceptance = False
        self.end_transaction()
        self.assertEqual(self.phase2.acceptance_state, "not_required")
        self.assertEqual(self.phase2.invoice_id.amount_untaxed, 35000.0)

    def test_gate_set_on_reached_work_asks_the_client(self):
        self.phase2.requires_acceptance = False
        self.deactivate_rule(
            "milestone_billing.base_automation_milestone_reached_draft_invoice"
        )
        self.finish(self.task2 | self.task3)
        self.assertFalse(self.phase3.invoice_id)
        self.phase3.requires_acceptance = True
        self.end_transaction()
        self.assertEqual(self.phase3.acceptance_state, "waiting")
        self.assertEqual(len(self._acceptance_requests(self.phase3)), 1)
        # Work billed before the gate was set: its client is not asked.
        self.phase2.action_create_draft_invoice()
        self.phase2.requires_acceptance = True
        self.end_transaction()
        self.assertFalse(self._acceptance_requests(self.phase2))
        self.assertEqual(self.phase2.invoice_id.state, "draft")

    def test_reaching_asks_the_client_and_bills_nothing(self):
        self.finish(self.task2)
        self.assertTrue(self.phase2.is_reached)
        self.assertEqual(self.phase2.acceptance_state, "waiting")
        self.assertFalse(self.phase2.invoice_id)
        self.assertEqual(self.phase2.billing_state, "to_invoice")
        request = self._acceptance_requests(self.phase2)
        self.assertEqual(len(request), 1)
        self.assertIn("please accept Strategy phase 2", request.subject)
        self.assertIn(f"/my/milestones/{self.phase2.id}", request.body)
        self.assertIn(f"access_token={self.phase2.access_token}", request.body)
        with self.assertRaisesRegex(UserError, "requires client acceptance"):
            self.phase2.action_create_draft_invoice()
        self.env["project.milestone"]._cron_process_billing()
        self.assertFalse(self.phase2.invoice_id)

    def test_rejection_then_acceptance(self):
        self.finish(self.task2)
        as_client = self.phase2.with_user(self.client_user)
        with self.assertRaisesRegex(UserError, "why"):
            as_client.action_reject("  ")
        as_client.action_reject("The appendix on staffing is missing.")
        self.end_transaction()
        self.assertEqual(self.phase2.acceptance_state, "rejected")
        self.assertEqual(self.phase2.acceptance_partner_id, self.client_contact)
        self.assertFalse(self.phase2.invoice_id)
        activity = self._rejection_activities(self.phase2)
        self.assertEqual(activity.user_id, self.pm)
        self.assertIn("appendix on staffing", activity.note)

        # The PM reworks the deliverable and asks again.
        self.phase2.with_user(self.pm).action_request_acceptance()
        self.assertEqual(self.phase2.acceptance_state, "waiting")
        self.assertEqual(len(self._acceptance_requests(self.phase2)), 2)

        with self.assertRaisesRegex(UserError, "name"):
            as_client.action_accept("", SIGNATURE)
        as_client.action_accept("Jane Client", SIGNATURE)
        self.end_transaction()
        self.assertEqual(self.phase2.acceptance_state, "accepted")
        self.assertEqual(self.phase2.acceptance_signed_by, "Jane Client")
        self.assertTrue(self.phase2.acceptance_signature)
        self.assertFalse(self.phase2.acceptance_offline)
        self.assertFalse(self._rejection_activities(self.phase2))
        invoice = self.phase2.invoice_id
        self.assertEqual(invoice.state, "draft")
        self.assertEqual(invoice.amount_untaxed, 35000.0)
        line = invoice.invoice_line_ids.filtered("milestone_id")
        self.assertIn("Accepted by Jane Client", line.name)
        with self.assertRaisesRegex(UserError, "accepted already"):
            as_client.action_accept("Jane Client", SIGNATURE)

    def test_clients_answer_only_for_their_company(self):
        self.finish(self.task2)
        as_other = self.phase2.with_user(self.other_client)
        with self.assertRaises(AccessError):
            as_other.action_accept("Someone Else", SIGNATURE)
        with self.assertRaises(AccessError):
            as_other.action_reject("Not ours")
        self.assertEqual(self.phase2.acceptance_state, "waiting")

    def test_unreached_milestone_cannot_be_accepted(self):
        with self.assertRaisesRegex(UserError, "not reached"):
            self.phase2.with_user(self.client_user).action_accept(
                "Jane Client", SIGNATURE
            )
        self.phase2.invalidate_recordset()
        self.assertFalse(self.phase2.invoice_id)

    def test_offline_acceptance_recorded_by_the_pm(self):
        self.finish(self.task2)
        wizard = (
            self.env["project.milestone.acceptance.wizard"]
            .with_user(self.pm)
            .with_context(active_ids=self.phase2.ids)
            .create(
                {
                    "signed_by": "Paul Sponsor",
                    "note": "Signed acceptance report received by email.",
                }
            )
        )
        wizard.action_record_acceptance()
        self.end_transaction()
        self.assertEqual(self.phase2.acceptance_state, "accepted")
        self.assertTrue(self.phase2.acceptance_offline)
        self.assertEqual(
            self.phase2.acceptance_note, "Signed acceptance report received by email."
        )
        self.assertEqual(self.phase2.invoice_id.amount_untaxed, 35000.0)
        self.assertTrue(
            any(
                "Acceptance given offline by Paul Sponsor" in str(message.body)
                for message in self.phase2.message_ids
            )
        )
        self.assertEqual(self.phase2.acceptance_partner_id, self.partner_a)


@tagged("post_install", "-at_install")
class TestFinalAcceptanceReleasesRetention(BillingStructureHelpers, AcceptanceCommon):
    def test_final_milestone_acceptance_releases_the_retention(self):
        self._set_up_retention(5.0)
        self.phase2.requires_acceptance = False
        self.phase3.requires_acceptance = True
        self.finish(self.task1 | self.task2)
        (self.phase1 | self.phase2).invoice_id.action_post()
        self.finish(self.task3)
        self.assertFalse(self.phase3.invoice_id)
        self.phase3.with_user(self.client_user).action_accept("Jane Client", SIGNATURE)
        self.end_transaction()
        final = self.phase3.invoice_id
        # Released at once, the final milestone withholds nothing.
        self.assertEqual(final.amount_untaxed, 35000.0)
        self.assertFalse(self._retention(final))
        release = (
            self.env["account.move.line"]
            .search(
                [
                    ("retention_order_id", "=", self.order.id),
                    ("milestone_retention_type", "=", "released"),
                ]
            )
            .move_id
        )
        self.assertEqual(len(release), 1)
        self.assertAlmostEqual(release.amount_untaxed, 1500.0 + 1750.0, places=2)


@tagged("post_install", "-at_install")
class TestAcceptancePortal(BillingStructureHelpers, AcceptanceCommon, HttpCase):
    def _csrf_token(self, html):
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def test_anonymous_visitors_need_the_link(self):
        self.finish(self.task2)
        self.phase2._portal_ensure_token()
        url = self.phase2.access_url
        response = self.url_open(url)
        self.assertNotIn(url, response.url, "no link, no page")
        response = self.url_open(f"{url}?access_token={self.phase2.access_token}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Target operating model", response.text)
        result = self.make_jsonrpc_request(
            f"{url}/accept?access_token={self.phase2.access_token}",
            {"name": "Jane Client", "signature": SIGNATURE},
        )
        self.assertTrue(result.get("force_refresh"), result)
        self.assertEqual(self.phase2.acceptance_state, "accepted")
        self.assertEqual(self.phase2.acceptance_partner_id, self.partner_a)

    def test_other_company_sees_nothing(self):
        self.finish(self.task2)
        self.authenticate("client_other", "client_other")
        url = self.phase2.access_url
        response = self.url_open(url)
        self.assertNotIn(url, response.url)
        response = self.url_open("/my/milestones")
        self.assertNotIn(self.phase2.name, response.text)
        result = self.make_jsonrpc_request(
            f"{url}/accept", {"name": "Someone Else", "signature": SIGNATURE}
        )
        self.assertIn("error", result)
        self.assertEqual(self.phase2.acceptance_state, "waiting")

    def test_done_when_advance_retention_and_acceptance_tie_out(self):
        """$100,000, 10% advance, 5% retention, 30/35/35, Phase 2 accepted on
        the portal."""
        # The engagement alone: a $100,000 order.
        self.order.order_line[1].write({"qty_delivered": 0, "product_uom_qty": 0})
        self.assertEqual(self.order.amount_untaxed, 100000.0)
        self._set_up_retention(5.0)
        advance = self._post_down_payment(10)
        self.finish(self.task1)
        self.phase1.invoice_id.action_post()

        self.finish(self.task2)
        self.assertFalse(self.phase2.invoice_id, "finishing Phase 2 bills nothing")
        self.assertEqual(len(self._acceptance_requests(self.phase2)), 1)

        self.authenticate("client_jane", "client_jane")
        response = self.url_open("/my/milestones")
        self.assertIn(self.phase2.name, response.text)
        page = self.url_open(self.phase2.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("35,000.00", page.text)
        self.assertIn("Target operating model", page.text)

        # A rejection first: back to the PM with the comment.
        response = self.url_open(
            f"{self.phase2.access_url}/reject",
            data={
                "csrf_token": self._csrf_token(page.text),
                "reason": "Please add the staffing appendix.",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.phase2.acceptance_state, "rejected")
        self.assertIn("staffing appendix", self._rejection_activities(self.phase2).note)
        self.assertFalse(self.phase2.invoice_id)
        self.phase2.with_user(self.pm).action_request_acceptance()

        result = self.make_jsonrpc_request(
            f"{self.phase2.access_url}/accept",
            {"name": "Jane Client", "signature": SIGNATURE},
        )
        self.assertTrue(result.get("force_refresh"), result)
        self.assertEqual(self.phase2.acceptance_state, "accepted")
        invoice = self.phase2.invoice_id
        self.assertEqual(invoice.state, "draft")
        self.assertAlmostEqual(self._deduction(invoice), 3500.0, places=2)
        self.assertAlmostEqual(self._retention(invoice), 1750.0, places=2)
        self.assertAlmostEqual(invoice.amount_untaxed, 29750.0, places=2)
        self.assertIn(
            "Accepted by Jane Client",
            invoice.invoice_line_ids.filtered("milestone_id").name,
        )
        invoice.action_post()

        self.finish(self.task3)
        self.phase3.invoice_id.action_post()
        self.order.invalidate_recordset()
        self.assertAlmostEqual(self.order.retention_held_amount, 5000.0, places=2)
        action = self.order.action_release_retention()
        release = self.env["account.move"].browse(action["res_id"])
        self.assertAlmostEqual(release.amount_untaxed, 5000.0, places=2)
        release.action_post()

        self.order.invalidate_recordset()
        self.assertAlmostEqual(self.order.retention_released_amount, 5000.0, places=2)
        invoices = (self.order.invoice_ids | release).filtered(
            lambda m: m.state == "posted"
        )
        self.assertEqual(len(invoices), 5, "advance, three phases, release")
        self.assertAlmostEqual(
            sum(invoices.mapped("amount_untaxed_signed")), 100000.0, places=2
        )
        self.assertAlmostEqual(advance.amount_untaxed, 10000.0, places=2)
        self.assertEqual(self.line.qty_invoiced, 1.0)
        self.assertFalse(self.order._get_milestone_down_payment_lines())
        self.assertEqual(self.order.invoice_status, "invoiced")
        self.assertAlmostEqual(self.order.amount_to_invoice, 0.0, places=2)
        self.assertAlmostEqual(self.order.amount_invoiced, 115000.0, places=2)
        self.assertEqual(
            (self.phase1 | self.phase2 | self.phase3).mapped("billing_state"),
            ["posted"] * 3,
        )

    def test_client_accepts_in_the_browser(self):
        self.finish(self.task2)
        self.start_tour(
            "/my/milestones",
            "milestone_billing_client_acceptance_tour",
            login="client_jane",
        )
        self.assertEqual(self.phase2.acceptance_state, "accepted")
        self.assertEqual(self.phase2.acceptance_signed_by, "Jane Client")
        self.assertTrue(self.phase2.acceptance_signature)
        self.assertEqual(self.phase2.invoice_id.amount_untaxed, 35000.0)
