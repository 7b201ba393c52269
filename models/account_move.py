from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError


class AccountMove(models.Model):
    _inherit = "account.move"

    milestone_ids = fields.Many2many(
        "project.milestone",
        string="Billed Milestones",
        compute="_compute_milestone_ids",
    )
    milestone_count = fields.Integer(compute="_compute_milestone_ids")

    @api.depends("invoice_line_ids.milestone_id")
    def _compute_milestone_ids(self):
        for move in self:
            move.milestone_ids = move.invoice_line_ids.milestone_id
            move.milestone_count = len(move.milestone_ids)

    def button_draft(self):
        # Resetting a cancelled draft would bill its milestones a second time
        # when they were billed again meanwhile.
        cancelled_lines = self.filtered(
            lambda m: m.state == "cancel"
        ).line_ids.filtered(
            lambda line: line.milestone_id and not line.milestone_adjustment
        )
        if cancelled_lines:
            rebilled = cancelled_lines.milestone_id._filter_invoiced()
            if rebilled:
                raise UserError(
                    _(
                        "Milestone %(milestones)s was invoiced again after this "
                        "invoice was cancelled: it cannot be reset to draft.",
                        milestones=", ".join(rebilled.mapped("name")),
                    )
                )
        return super().button_draft()

    def button_cancel(self):
        milestones = self.line_ids.milestone_id
        res = super().button_cancel()
        if milestones:
            # AR cancelled on purpose: the job must not draft it again, only the
            # "Create draft invoice" button may.
            milestones.sudo()._clear_billing_failure()
            for move in self:
                for milestone in move.line_ids.milestone_id:
                    milestone.sudo().message_post(
                        body=_(
                            "Invoice %(invoice)s was cancelled; use "
                            '"Create draft invoice" to bill the milestone again.',
                            invoice=move._get_html_link(),
                        )
                    )
        return res

    def _remove_milestone_lines(self, lines):
        """Remove the lines of reopened milestones; cancel the draft left empty."""
        self.ensure_one()
        names = ", ".join(lines.milestone_id.mapped("name"))
        self.write({"invoice_line_ids": [Command.unlink(line.id) for line in lines]})
        self.message_post(
            body=_(
                "Lines of milestone %(milestones)s removed: the work was reopened.",
                milestones=names,
            )
        )
        if not self.invoice_line_ids.filtered(
            lambda line: line.display_type == "product"
        ):
            self.button_cancel()

    def _notify_reopened_milestones(self, milestones, note):
        self.ensure_one()
        self.activity_schedule(
            activity_type_id=self.env.ref(
                "milestone_billing.mail_activity_type_milestone_billing"
            ).id,
            summary=_("Invoiced milestone reopened"),
            note=note,
            user_id=milestones[:1]._get_billing_responsible().id,
        )

    def action_view_milestones(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "milestone_billing.project_milestone_action_billing"
        )
        action["domain"] = [("id", "in", self.milestone_ids.ids)]
        if len(self.milestone_ids) == 1:
            action.update(
                view_mode="form", res_id=self.milestone_ids.id, views=[(False, "form")]
            )
        return action
