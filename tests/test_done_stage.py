from odoo import Command
from odoo.tests import tagged

from odoo.addons.milestone_billing.hooks import post_init_hook

from .common import MilestoneBillingCommon


@tagged("post_install", "-at_install")
class TestDoneStage(MilestoneBillingCommon):
    def test_install_flags_folded_done_stages(self):
        folded_done, open_done, folded_other = self.env["project.task.type"].create(
            [
                {"name": "Done", "fold": True},
                {"name": "Done", "fold": False},
                {"name": "Archive", "fold": True},
            ]
        )
        post_init_hook(self.env)
        self.assertTrue(folded_done.is_done_stage)
        self.assertFalse(open_done.is_done_stage)
        self.assertFalse(folded_other.is_done_stage)

    def test_milestone_reached_when_all_tasks_finished(self):
        extra = self.env["project.task"].create(
            {
                "name": "Review",
                "project_id": self.project.id,
                "milestone_id": self.phase2.id,
                "stage_id": self.stage_progress.id,
            }
        )
        self.finish(self.task2)
        self.assertFalse(self.phase2.is_reached, "one task is still open")
        self.assertEqual(self.phase2.billing_state, "planned")
        # The native "done" state counts as finished whatever the stage.
        extra.state = "1_done"
        self.end_transaction()
        self.assertTrue(self.phase2.is_reached)
        self.assertTrue(self.phase2.reached_by_tasks)
        self.assertEqual(self.phase2.billing_state, "draft")

    def test_cancelled_tasks_do_not_block_but_do_not_reach(self):
        extra = self.env["project.task"].create(
            {
                "name": "Optional workshop",
                "project_id": self.project.id,
                "milestone_id": self.phase1.id,
            }
        )
        extra.state = "1_canceled"
        self.end_transaction()
        self.assertFalse(
            self.phase1.is_reached, "a cancelled task alone is no finished work"
        )
        self.finish(self.task1)
        self.assertTrue(self.phase1.is_reached)

    def test_task_created_done_reaches_its_milestone(self):
        milestone = self.env["project.milestone"].create(
            {"name": "Kick-off", "project_id": self.project.id}
        )
        self.env["project.task"].create(
            {
                "name": "Kick-off meeting",
                "project_id": self.project.id,
                "milestone_id": milestone.id,
                "stage_id": self.stage_done.id,
            }
        )
        self.end_transaction()
        self.assertTrue(milestone.is_reached)
        self.assertEqual(milestone.billing_state, "not_billable")

    def test_reopened_task_unreaches_its_milestone(self):
        self.finish(self.task1)
        self.assertTrue(self.phase1.is_reached)
        self.reopen(self.task1)
        self.assertFalse(self.phase1.is_reached)
        self.assertFalse(self.phase1.reached_by_tasks)

    def test_reopened_task_keeps_a_milestone_reached_by_hand(self):
        self.finish(self.task1)
        self.phase1.write({"is_reached": False})
        self.phase1.write({"is_reached": True})
        self.end_transaction()
        self.reopen(self.task1)
        self.assertTrue(self.phase1.is_reached)

    def test_task_moved_to_another_milestone(self):
        extra = self.env["project.task"].create(
            {
                "name": "Report",
                "project_id": self.project.id,
                "milestone_id": self.phase3.id,
                "stage_id": self.stage_progress.id,
            }
        )
        self.finish(self.task3)
        self.assertFalse(self.phase3.is_reached)
        extra.milestone_id = self.phase1
        self.end_transaction()
        self.assertTrue(
            self.phase3.is_reached, "the milestone left behind has only finished work"
        )
        self.assertFalse(self.phase1.is_reached)

    def test_deactivated_rule_stops_reaching(self):
        self.deactivate_rule(
            "milestone_billing.base_automation_task_finished_reach_milestone"
        )
        self.finish(self.task1)
        self.assertFalse(self.phase1.is_reached)
        self.assertFalse(self.phase1.invoice_line_ids)

    def test_non_milestone_project_is_ignored(self):
        self.project.allow_milestones = False
        self.finish(self.task1)
        self.assertFalse(self.phase1.is_reached)

    def test_stage_form_shows_done_box(self):
        arch = self.env["project.task.type"].get_view(
            self.env.ref("project.task_type_edit").id, "form"
        )["arch"]
        self.assertIn('name="is_done_stage"', arch)
        self.assertEqual(
            self.stage_done.with_context(lang="en_US")._fields["is_done_stage"].string,
            "Done stage",
        )

    def test_stage_shared_by_projects(self):
        project = self.env["project.project"].create(
            {
                "name": "Internal",
                "allow_milestones": True,
                "type_ids": [Command.set(self.stage_done.ids)],
            }
        )
        milestone = self.env["project.milestone"].create(
            {"name": "Go-live", "project_id": project.id}
        )
        task = self.env["project.task"].create(
            {"name": "Go-live", "project_id": project.id, "milestone_id": milestone.id}
        )
        self.finish(task)
        self.assertTrue(milestone.is_reached)
