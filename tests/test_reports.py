from datetime import date, timedelta

from freezegun import freeze_time

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestBillingLagReport(MilestoneBillingCommon):
    def _bill_at(self, milestone, task, reached, drafted, posted=None, paid=None):
        """Run the real flow, then move its events to known dates."""
        self.finish(task)
        invoice = milestone.invoice_id
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE project_milestone SET reached_date = %s WHERE id = %s",
                reached,
                milestone.id,
            )
        )
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET create_date = %s WHERE id = %s",
                fields.Datetime.to_datetime(drafted),
                invoice.id,
            )
        )
        self.env.invalidate_all()
        if posted:
            invoice.invoice_date = posted
            invoice.action_post()
        if paid:
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({"payment_date": paid})._create_payments()
        return invoice

    def test_lag_figures_on_known_dates(self):
        self.phase1.deadline = date(2026, 3, 1)
        self._bill_at(
            self.phase1,
            self.task1,
            reached=date(2026, 3, 4),
            drafted=date(2026, 3, 4),
            posted=date(2026, 3, 9),
            paid=date(2026, 4, 8),
        )
        self._bill_at(
            self.phase2,
            self.task2,
            reached=date(2026, 3, 20),
            drafted=date(2026, 3, 22),
        )
        self.env.flush_all()
        rows = self.env["milestone.billing.report"].search(
            [("project_id", "=", self.project.id)]
        )
        by_milestone = {row.milestone_id: row for row in rows}
        self.assertEqual(len(rows), 3, "one row per billable milestone")
        self.assertRecordValues(
            by_milestone[self.phase1],
            [
                {
                    "billing_state": "paid",
                    "amount": 30000.0,
                    "partner_id": self.partner_a.id,
                    "project_user_id": self.project.user_id.id,
                    "salesperson_id": self.order.user_id.id,
                    "company_id": self.order.company_id.id,
                    "reached_date": date(2026, 3, 4),
                    "draft_date": date(2026, 3, 4),
                    "posted_date": date(2026, 3, 9),
                    "paid_date": date(2026, 4, 8),
                    "days_late": 3.0,
                    "days_reached_to_draft": 0.0,
                    "days_draft_to_posted": 5.0,
                    "days_reached_to_posted": 5.0,
                    "days_posted_to_paid": 30.0,
                    "days_reached_to_paid": 35.0,
                    "unbilled_age": False,
                }
            ],
        )
        self.assertRecordValues(
            by_milestone[self.phase2],
            [
                {
                    "billing_state": "draft",
                    "draft_date": date(2026, 3, 22),
                    "posted_date": False,
                    "paid_date": False,
                    "days_reached_to_draft": 2.0,
                    "days_reached_to_posted": 0.0,
                    "unbilled_amount_company": 35000.0,
                    "unbilled_age": "61_plus",
                }
            ],
        )
        self.assertFalse(by_milestone[self.phase3].reached_date)
        # The pivot's averages ignore events that did not happen yet.
        [(manager, posted_lag, paid_lag, count)] = self.env[
            "milestone.billing.report"
        ]._read_group(
            [("project_id", "=", self.project.id), ("reached_date", "!=", False)],
            ["project_user_id"],
            ["days_reached_to_posted:avg", "days_reached_to_paid:avg", "__count"],
        )
        self.assertEqual(
            (manager, posted_lag, paid_lag, count), (self.project.user_id, 5.0, 35.0, 2)
        )

    def test_unbilled_age_buckets(self):
        today = fields.Date.context_today(self.env.user)
        for milestone, task, age in (
            (self.phase1, self.task1, 3),
            (self.phase2, self.task2, 12),
            (self.phase3, self.task3, 45),
        ):
            self._bill_at(
                milestone,
                task,
                today - timedelta(days=age),
                today - timedelta(days=age),
            )
        self.env.flush_all()
        buckets = dict(
            self.env["milestone.billing.report"]._read_group(
                [("project_id", "=", self.project.id), ("unbilled_age", "!=", False)],
                ["unbilled_age"],
                ["unbilled_amount_company:sum"],
            )
        )
        self.assertEqual(buckets, {"0_7": 30000.0, "8_30": 35000.0, "31_60": 35000.0})

    def test_late_mark_after_the_configured_delay(self):
        self.env.company.milestone_billing_late_days = 2
        with freeze_time("2026-06-01"):
            self.finish(self.task1)
            self.assertEqual(self.phase1.reached_date, date(2026, 6, 1))
        late = self.env["project.milestone"].search(
            [("is_billing_late", "=", True), ("project_id", "=", self.project.id)]
        )
        with freeze_time("2026-06-02"):
            self.phase1.invalidate_recordset(["is_billing_late"])
            self.assertFalse(self.phase1.is_billing_late)
        with freeze_time("2026-06-04"):
            self.phase1.invalidate_recordset(["is_billing_late", "days_since_reached"])
            self.assertTrue(self.phase1.is_billing_late)
            self.assertEqual(self.phase1.days_since_reached, 3)
            late = self.env["project.milestone"].search(
                [("is_billing_late", "=", True), ("project_id", "=", self.project.id)]
            )
            self.assertEqual(late, self.phase1)
            self.phase1.invoice_id.action_post()
            self.phase1.invalidate_recordset(["is_billing_late"])
            self.assertFalse(self.phase1.is_billing_late, "posted: no longer waiting")

    def test_report_rights_and_companies(self):
        self.finish(self.task1)
        pm = new_test_user(
            self.env, login="pm_report", groups="project.group_project_manager"
        )
        employee = new_test_user(
            self.env, login="employee_report", groups="base.group_user"
        )
        Report = self.env["milestone.billing.report"]
        self.assertTrue(
            Report.with_user(pm).search([("project_id", "=", self.project.id)])
        )
        with self.assertRaises(AccessError):
            Report.with_user(employee).search([])
        company_2 = self.setup_other_company()["company"]
        accountant_2 = new_test_user(
            self.env,
            login="accountant_company_2",
            groups="account.group_account_invoice",
            company_id=company_2.id,
            company_ids=[Command.set(company_2.ids)],
        )
        self.assertFalse(
            Report.with_user(accountant_2).search(
                [("project_id", "=", self.project.id)]
            ),
            "another company's billing is not shown",
        )


@tagged("post_install", "-at_install")
class TestWorklistsAndSchedule(MilestoneBillingCommon):
    def test_kanban_columns_and_worklist(self):
        self.finish(self.task1)
        self.phase1.invoice_id.action_post()
        self.finish(self.task2)
        Milestone = self.env["project.milestone"]
        groups = Milestone.web_read_group(
            [("project_id", "=", self.project.id)], ["billing_state"], ["billing_state"]
        )["groups"]
        self.assertEqual(
            [group["billing_state"] for group in groups],
            ["planned", "to_invoice", "draft", "posted", "paid"],
            "every billing column shows, even empty",
        )
        action = self.env.ref("milestone_billing.project_milestone_action_unbilled")
        self.assertEqual(action.context, "{'search_default_unbilled': 1}")
        unbilled = Milestone.search(
            [
                ("project_id", "=", self.project.id),
                ("billing_state", "in", ("to_invoice", "draft")),
            ]
        )
        self.assertEqual(unbilled, self.phase2)
        for xmlid, view_type in (
            ("milestone_billing.project_milestone_view_kanban", "kanban"),
            ("milestone_billing.project_milestone_view_list_billing", "list"),
            ("milestone_billing.milestone_billing_report_view_pivot", "pivot"),
            ("milestone_billing.milestone_billing_report_view_graph", "graph"),
        ):
            view = self.env.ref(xmlid)
            self.env[view.model].get_view(view.id, view_type)

    def test_smart_buttons(self):
        self.finish(self.task2)
        self.assertEqual(self.order.billing_milestone_count, 3)
        self.assertEqual(self.order.milestone_to_invoice_amount, 35000.0)
        self.assertEqual(self.project.billing_milestone_count, 3)
        self.assertEqual(self.task2.milestone_billing_state, "draft")
        self.assertEqual(self.task1.milestone_billing_state, "planned")
        action = self.order.action_view_billing_milestones()
        self.assertEqual(
            self.env["project.milestone"].search(action["domain"]),
            self.phase1 | self.phase2 | self.phase3,
        )
        self.assertEqual(
            self.env["project.milestone"].search(
                self.project.action_view_billing_milestones()["domain"]
            ),
            self.phase1 | self.phase2 | self.phase3,
        )

    def test_printed_billing_schedule(self):
        self.finish(self.task1)
        invoice = self.phase1.invoice_id
        invoice.action_post()
        self.pay(invoice)
        self.finish(self.task2)
        self.phase2.invoice_id.action_post()
        html = str(
            self.env["ir.actions.report"]._render_qweb_html(
                "milestone_billing.action_report_billing_schedule_sale_order",
                self.order.ids,
            )[0]
        )
        for text in (
            "Billing Schedule",
            self.order.name,
            self.phase1.name,
            self.phase3.name,
        ):
            self.assertIn(text, html)
        self.assertIn(invoice.name, html)
        self.assertIn(self.phase2.invoice_id.name, html)
        schedule = self.order._get_billing_schedule()
        self.assertEqual(
            (schedule["total"], schedule["billed"], schedule["remaining"]),
            (100000.0, 65000.0, 35000.0),
        )
        self.assertEqual(
            [row["paid"] for row in schedule["rows"]], [True, False, False]
        )
        self.assertIn("65,000.00", html)
        project_html = str(
            self.env["ir.actions.report"]._render_qweb_html(
                "milestone_billing.action_report_billing_schedule_project",
                self.project.ids,
            )[0]
        )
        self.assertIn(self.phase3.name, project_html)


@tagged("post_install", "-at_install")
class TestDemoFirm(MilestoneBillingCommon):
    def test_demo_firm_tells_a_story(self):
        product = self.env["product.product"].create(
            {
                "name": "Demo engagement",
                "type": "service",
                "invoice_policy": "delivery",
                "service_type": "milestones",
                "taxes_id": False,
                "property_account_income_id": self.account_sale.id,
            }
        )
        self.env["milestone.billing.demo"]._load_demo(
            stages=(self.stage_progress, self.stage_done), product=product
        )
        milestones = self.env["project.milestone"].search(
            [("sale_line_id.product_id", "=", product.id)]
        )
        self.assertEqual(len(milestones.project_id), 15)
        self.assertEqual(len(milestones), 45)
        states = set(milestones.mapped("billing_state"))
        self.assertEqual(states, {"planned", "to_invoice", "draft", "posted", "paid"})
        rows = self.env["milestone.billing.report"].search(
            [("milestone_id", "in", milestones.ids), ("paid_date", "!=", False)]
        )
        self.assertTrue(rows)
        self.assertTrue(all(row.paid_date < fields.Date.today() for row in rows))
        awaited = milestones.filtered("requires_acceptance")
        self.assertEqual(len(awaited), 1)
        self.assertRecordValues(
            awaited, [{"is_reached": True, "acceptance_state": "waiting"}]
        )
        self.assertFalse(awaited.invoice_id)
        progress = milestones.filtered("progress_billing")
        self.assertEqual(len(progress), 1)
        self.assertEqual(progress.progress_percent, 65.0)
        self.assertEqual(progress.progress_invoiced_percent, 40.0)
