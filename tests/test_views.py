from odoo.tests import new_test_user, tagged

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestViews(MilestoneBillingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pm = new_test_user(
            cls.env, login="pm_views", groups="project.group_project_manager"
        )

    def test_milestone_views_as_accountant_and_project_manager(self):
        for user, sees_invoice in ((self.env.user, True), (self.pm, False)):
            Milestone = self.env["project.milestone"].with_user(user)
            form = Milestone.get_view(
                self.env.ref("project.project_milestone_view_form").id
            )
            listing = Milestone.get_view(
                self.env.ref("project.project_milestone_view_tree").id
            )
            for arch in (form["arch"], listing["arch"]):
                self.assertIn('name="billing_state"', arch)
                self.assertIn('name="billing_amount"', arch)
                self.assertIn('name="billing_error"', arch)
                self.assertEqual(
                    'name="action_create_draft_invoice"' in arch, sees_invoice
                )
                self.assertEqual('name="invoice_id"' in arch, sees_invoice)
        search = self.env["project.milestone"].get_view(
            self.env.ref("milestone_billing.project_milestone_view_search").id, "search"
        )
        self.assertIn('name="failed"', search["arch"])

    def test_invoice_form_links_to_its_milestones(self):
        arch = self.env["account.move"].get_view(
            self.env.ref("account.view_move_form").id
        )["arch"]
        self.assertIn('name="action_view_milestones"', arch)

    def test_multi_selection_action_is_for_billing_users(self):
        action = self.env.ref(
            "milestone_billing.project_milestone_action_create_draft_invoice"
        )
        self.assertEqual(action.binding_model_id.model, "project.milestone")
        self.assertEqual(
            set(action.groups_id.mapped(lambda g: g.get_external_id()[g.id])),
            {"sales_team.group_sale_salesman", "account.group_account_invoice"},
        )

    def test_multi_selection_action_bills_the_selection(self):
        self.deactivate_rule(
            "milestone_billing.base_automation_milestone_reached_draft_invoice"
        )
        self.finish(self.task1 | self.task2)
        action = self.env.ref(
            "milestone_billing.project_milestone_action_create_draft_invoice"
        )
        milestones = self.phase1 | self.phase2
        action.with_context(
            active_model="project.milestone",
            active_ids=milestones.ids,
            active_id=milestones[0].id,
        ).run()
        self.assertEqual(len(milestones.invoice_line_ids.move_id), 1)
        self.assertEqual(milestones.mapped("billing_state"), ["draft", "draft"])

    def test_automation_rules_are_shipped_and_visible(self):
        task_rule = self.env.ref(
            "milestone_billing.base_automation_task_finished_reach_milestone"
        )
        bill_rule = self.env.ref(
            "milestone_billing.base_automation_milestone_reached_draft_invoice"
        )
        self.assertRecordValues(
            task_rule | bill_rule,
            [
                {"trigger": "on_create_or_write", "active": True},
                {"trigger": "on_create_or_write", "active": True},
            ],
        )
        self.assertEqual(
            set(task_rule.trigger_field_ids.mapped("name")),
            {"stage_id", "state", "milestone_id"},
        )
        self.assertEqual(
            set(bill_rule.trigger_field_ids.mapped("name")),
            {"is_reached", "acceptance_state"},
        )
        self.assertIn("_sync_milestone_reached", task_rule.action_server_ids.code)
        self.assertIn("_auto_create_draft_invoices", bill_rule.action_server_ids.code)
        acceptance_rule = self.env.ref(
            "milestone_billing.base_automation_milestone_reached_acceptance_request"
        )
        self.assertTrue(acceptance_rule.active)
        self.assertIn(
            "_request_client_acceptance", acceptance_rule.action_server_ids.code
        )


@tagged("post_install", "-at_install")
class TestEveryViewLoads(MilestoneBillingCommon):
    def test_every_module_view_loads_for_its_users(self):
        pm = self._new_project_manager("pm_every_view")
        accountant = new_test_user(
            self.env,
            login="accountant_every_view",
            groups="account.group_account_invoice,project.group_project_user",
        )
        views = self.env["ir.ui.view"].search(
            [("model_data_id.module", "=", "milestone_billing"), ("type", "!=", "qweb")]
        )
        self.assertGreater(len(views), 10)
        for user in (self.env.user, pm, accountant):
            for view in views:
                model = self.env[view.model].with_user(user)
                if not model.has_access("read"):
                    continue
                root = view if view.mode == "primary" else view.inherit_id
                while root.mode != "primary":
                    root = root.inherit_id
                with self.subTest(view=view.xml_id, user=user.login):
                    arch = model.get_view(root.id, view.type)["arch"]
                    self.assertTrue(arch)
