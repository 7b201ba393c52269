from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestAccess(MilestoneBillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pm = new_test_user(
            cls.env, login="pm_no_accounting", groups="project.group_project_manager"
        )
        cls.salesman = new_test_user(
            cls.env,
            login="salesman",
            groups="sales_team.group_sale_salesman,project.group_project_user",
        )
        cls.portal = new_test_user(
            cls.env, login="portal_collaborator", groups="base.group_portal"
        )
        cls.project.write(
            {
                "privacy_visibility": "portal",
                "collaborator_ids": [
                    Command.create({"partner_id": cls.portal.partner_id.id})
                ],
            }
        )

    def test_project_manager_without_accounting_triggers_the_draft(self):
        self.task2.with_user(self.pm).write({"stage_id": self.stage_done.id})
        self.end_transaction()
        invoice = self.phase2.invoice_line_ids.move_id
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "draft")
        milestone_as_pm = self.phase2.with_user(self.pm)
        self.assertEqual(milestone_as_pm.billing_state, "draft")
        self.assertEqual(milestone_as_pm.billing_amount, 35000.0)
        with self.assertRaises(AccessError):
            invoice.with_user(self.pm).check_access("read")
        with self.assertRaises(AccessError):
            invoice.with_user(self.pm).write({"ref": "changed"})
        with self.assertRaises(AccessError):
            milestone_as_pm.read(["invoice_id"])

    def test_project_manager_cannot_bill_or_change_amounts(self):
        self.finish(self.task1)
        with self.assertRaises(AccessError):
            self.phase3.with_user(self.pm).write({"quantity_percentage": 0.5})
        self.deactivate_rule(
            "milestone_billing.base_automation_milestone_reached_draft_invoice"
        )
        self.phase3.is_reached = True
        with self.assertRaises(AccessError):
            self.phase3.with_user(self.pm).action_create_draft_invoice()

    def test_salesman_bills_by_hand(self):
        self.deactivate_rule(
            "milestone_billing.base_automation_milestone_reached_draft_invoice"
        )
        self.finish(self.task3)
        self.phase3.with_user(self.salesman).action_create_draft_invoice()
        self.assertEqual(self.phase3.billing_state, "draft")
        self.phase1.with_user(self.salesman).write({"quantity_percentage": 0.25})
        self.assertEqual(self.phase1.billing_amount, 25000.0)

    def test_portal_collaborator_causes_billing_but_never_sees_it(self):
        self.task2.with_user(self.portal).write({"stage_id": self.stage_done.id})
        self.end_transaction()
        self.assertEqual(self.phase2.billing_state, "draft")
        milestone_as_portal = self.phase2.with_user(self.portal)
        for fname in (
            "billing_state",
            "billing_amount",
            "billing_error",
            "invoice_line_ids",
        ):
            with self.assertRaises(AccessError, msg=fname):
                milestone_as_portal.read([fname])
        with self.assertRaises(AccessError):
            self.phase2.invoice_line_ids.move_id.with_user(self.portal).check_access(
                "read"
            )

    def test_invoice_created_in_the_order_company(self):
        company_2 = self.setup_other_company()["company"]
        self.env.user.company_ids |= company_2
        env_2 = self.env(
            context=dict(self.env.context, allowed_company_ids=company_2.ids)
        )
        stage_progress = self.stage_progress.with_env(env_2)
        product = self.product_milestone.with_env(env_2)
        order = env_2["sale.order"].create(
            {
                "partner_id": self.partner_b.id,
                "company_id": company_2.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 8000.0})
                ],
            }
        )
        order.action_confirm()
        project = env_2["project.project"].create(
            {
                "name": "Branch project",
                "company_id": company_2.id,
                "allow_milestones": True,
            }
        )
        milestone = env_2["project.milestone"].create(
            {
                "name": "Branch milestone",
                "project_id": project.id,
                "sale_line_id": order.order_line.id,
                "quantity_percentage": 1.0,
            }
        )
        task = env_2["project.task"].create(
            {
                "name": "Branch work",
                "project_id": project.id,
                "milestone_id": milestone.id,
                "stage_id": stage_progress.id,
            }
        )
        # The PM works from the main company: the invoice still belongs to the order's.
        task.with_env(self.env).sudo().write({"stage_id": self.stage_done.id})
        self.end_transaction()
        invoice = milestone.invoice_line_ids.move_id
        self.assertEqual(invoice.company_id, company_2)
        self.assertEqual(invoice.journal_id.company_id, company_2)
        with self.assertRaises(AccessError):
            invoice.with_user(self.salesman).check_access("read")
