from odoo import fields, models

from .project_milestone import QUEUE_SYNC_MILESTONES, QUEUE_SYNC_TASKS


class ProjectTask(models.Model):
    _inherit = "project.task"

    milestone_sync_pending = fields.Boolean(
        copy=False,
        readonly=True,
        index="btree_not_null",
        export_string_translation=False,
        help="Technical: the milestone of this task was busy when the task changed; "
        "the billing job re-checks it.",
    )

    milestone_billing_state = fields.Selection(
        related="milestone_id.billing_state", string="Milestone Billing"
    )

    def _sync_milestone_reached(self):
        """Entry point of the "task finished -> milestone reached" automation rule.

        The milestones are re-evaluated once, at the end of the transaction, so a
        mass edit of many tasks costs one pass; the milestone a task was moved
        away from is re-evaluated too.
        """
        milestone_model = self.env["project.milestone"]
        old_values = self.env.context.get("old_values") or {}
        old_milestone_ids = {
            values["milestone_id"].id
            for values in old_values.values()
            if values.get("milestone_id")
        }
        milestone_model._enqueue_billing_work(QUEUE_SYNC_TASKS, self.ids)
        milestone_model._enqueue_billing_work(
            QUEUE_SYNC_MILESTONES, set(self.milestone_id.ids) | old_milestone_ids
        )
