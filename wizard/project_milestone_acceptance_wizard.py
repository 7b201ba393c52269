from odoo import fields, models


class ProjectMilestoneAcceptanceWizard(models.TransientModel):
    _name = "project.milestone.acceptance.wizard"
    _description = "Record a Client Acceptance Given Offline"

    milestone_ids = fields.Many2many(
        "project.milestone",
        string="Milestones",
        required=True,
        default=lambda self: self.env.context.get("active_ids"),
    )
    signed_by = fields.Char(
        "Accepted By",
        required=True,
        help="Name of the customer's representative who accepted the milestone.",
    )
    note = fields.Text(
        help="How the acceptance was given: signed report, email, meeting...",
    )

    def action_record_acceptance(self):
        self.ensure_one()
        self.milestone_ids.action_accept(self.signed_by, note=self.note)
        return {"type": "ir.actions.act_window_close"}
