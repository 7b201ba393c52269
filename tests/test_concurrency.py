# pylint: disable=invalid-commit
# Two transactions can only see each other's work once it is committed: these
# tests commit on purpose, on their own cursors, and remove what they committed.
from contextlib import closing

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger


@tagged("post_install", "-at_install")
class TestConcurrency(TransactionCase):
    """Two users, two real transactions, one milestone: it is billed once.

    The data is committed so both cursors see it, and removed afterwards.
    """

    def setUp(self):
        super().setUp()
        with closing(self.registry.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            stage_progress, stage_done = env["project.task.type"].create(
                [
                    {"name": "Race: in progress", "sequence": 1},
                    {
                        "name": "Race: done",
                        "sequence": 9,
                        "fold": True,
                        "is_done_stage": True,
                    },
                ]
            )
            partner = env["res.partner"].create({"name": "Race Customer"})
            product = env["product.product"].create(
                {
                    "name": "Race milestone service",
                    "type": "service",
                    "invoice_policy": "delivery",
                    "service_type": "milestones",
                    "list_price": 1000.0,
                    "taxes_id": [Command.clear()],
                }
            )
            order = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [
                        Command.create({"product_id": product.id, "product_uom_qty": 1})
                    ],
                }
            )
            order.action_confirm()
            project = env["project.project"].create(
                {
                    "name": "Race project",
                    "partner_id": partner.id,
                    "allow_milestones": True,
                    "allow_billable": True,
                    "type_ids": [Command.set((stage_progress | stage_done).ids)],
                }
            )
            milestone = env["project.milestone"].create(
                {
                    "name": "Race milestone",
                    "project_id": project.id,
                    "sale_line_id": order.order_line.id,
                    "quantity_percentage": 1.0,
                }
            )
            tasks = env["project.task"].create(
                [
                    {
                        "name": f"Race task {index}",
                        "project_id": project.id,
                        "milestone_id": milestone.id,
                        "stage_id": stage_progress.id,
                    }
                    for index in (1, 2)
                ]
            )
            cr.commit()
            self.ids = {
                "stage_done": stage_done.id,
                "stages": (stage_progress | stage_done).ids,
                "partner": partner.id,
                "product": product.id,
                "order": order.id,
                "project": project.id,
                "milestone": milestone.id,
                "tasks": tasks.ids,
            }
        self.addCleanup(self._remove_committed_data)

    def _remove_committed_data(self):
        with closing(self.registry.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            milestone = env["project.milestone"].browse(self.ids["milestone"])
            moves = milestone.invoice_line_ids.move_id
            moves.filtered(lambda m: m.state != "draft").button_draft()
            moves.with_context(force_delete=True).unlink()
            env["project.task"].browse(self.ids["tasks"]).unlink()
            milestone.unlink()
            env["project.project"].browse(self.ids["project"]).unlink()
            order = env["sale.order"].browse(self.ids["order"])
            order._action_cancel()
            order.unlink()
            env["product.product"].browse(self.ids["product"]).unlink()
            env["project.task.type"].browse(self.ids["stages"]).unlink()
            env["res.partner"].browse(self.ids["partner"]).unlink()
            cr.commit()

    def _count_live_lines(self):
        with closing(self.registry.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            milestone = env["project.milestone"].browse(self.ids["milestone"])
            lines = milestone.invoice_line_ids.filtered(
                lambda line: line.parent_state != "cancel"
            )
            return len(lines), milestone.is_reached

    def _run_job(self):
        with closing(self.registry.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["project.milestone"]._cron_process_billing()
            cr.commit()

    def _finish_in(self, cr, task_id):
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["project.task"].browse(task_id).write({"stage_id": self.ids["stage_done"]})

    def test_last_two_tasks_finished_at_the_same_moment(self):
        task1, task2 = self.ids["tasks"]
        with (
            closing(self.registry.cursor()) as cr1,
            closing(self.registry.cursor()) as cr2,
        ):
            self._finish_in(cr1, task1)
            cr1.flush()  # the end of the first request: the milestone is locked
            self._finish_in(cr2, task2)
            cr2.flush()  # must not fail although the milestone is busy
            cr1.commit()
            cr2.commit()
        self.assertEqual(
            self._count_live_lines(),
            (0, False),
            "neither transaction saw both tasks done",
        )
        self._run_job()
        self.assertEqual(self._count_live_lines(), (1, True))
        self._run_job()
        self.assertEqual(self._count_live_lines(), (1, True))

    def test_second_transaction_with_an_older_snapshot(self):
        task1, task2 = self.ids["tasks"]
        with (
            closing(self.registry.cursor()) as cr1,
            closing(self.registry.cursor()) as cr2,
        ):
            self._finish_in(cr2, task2)
            self._finish_in(cr1, task1)
            cr1.commit()
            # cr2 decides after cr1 committed, on a snapshot where task 1 is open.
            with mute_logger("odoo.sql_db"):
                cr2.flush()
            cr2.commit()
        self._run_job()
        self.assertEqual(self._count_live_lines(), (1, True))

    def test_two_users_click_create_draft_invoice(self):
        with closing(self.registry.cursor()) as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            milestone = env["project.milestone"].browse(self.ids["milestone"])
            env.ref(
                "milestone_billing.base_automation_milestone_reached_draft_invoice"
            ).active = False
            milestone.is_reached = True
            cr.commit()
        try:
            with (
                closing(self.registry.cursor()) as cr1,
                closing(self.registry.cursor()) as cr2,
            ):
                env1 = api.Environment(cr1, SUPERUSER_ID, {})
                env2 = api.Environment(cr2, SUPERUSER_ID, {})
                env1["project.milestone"].browse(
                    self.ids["milestone"]
                ).action_create_draft_invoice()
                with self.assertRaisesRegex(UserError, "another user"):
                    env2["project.milestone"].browse(
                        self.ids["milestone"]
                    ).action_create_draft_invoice()
                cr2.rollback()
                cr1.commit()
                with self.assertRaises(UserError):
                    env2["project.milestone"].browse(
                        self.ids["milestone"]
                    ).action_create_draft_invoice()
        finally:
            with closing(self.registry.cursor()) as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env.ref(
                    "milestone_billing.base_automation_milestone_reached_draft_invoice"
                ).active = True
                cr.commit()
        self.assertEqual(self._count_live_lines(), (1, True))
