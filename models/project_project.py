from odoo import _, fields, models


class ProjectProject(models.Model):
    _inherit = "project.project"

    billing_milestone_count = fields.Integer(
        "Billing Milestones",
        compute="_compute_billing_milestone_count",
        groups="base.group_user",
    )

    def _compute_billing_milestone_count(self):
        counts = dict(
            self.env["project.milestone"]._read_group(
                [("project_id", "in", self.ids), ("sale_line_id", "!=", False)],
                ["project_id"],
                ["__count"],
            )
        )
        for project in self:
            project.billing_milestone_count = counts.get(project, 0)

    def action_view_billing_milestones(self):
        self.ensure_one()
        return self.env["project.milestone"]._get_billing_milestones_action(
            _("Billing of %(project)s", project=self.name),
            [("project_id", "=", self.id)],
            {"default_project_id": self.id},
        )

    def _get_billing_schedule(self):
        self.ensure_one()
        milestones = (
            self.env["project.milestone"]
            .sudo()
            .search([("project_id", "=", self.id), ("sale_line_id", "!=", False)])
        )
        return milestones._get_billing_schedule()
