from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import format_datetime

from .project_milestone import QUEUE_RELEASE

ACCEPTANCE_STATES = [
    ("not_required", "Not Required"),
    ("waiting", "Waiting for Client"),
    ("accepted", "Accepted"),
    ("rejected", "Rejected"),
]


class ProjectMilestone(models.Model):
    _name = "project.milestone"
    _inherit = ["project.milestone", "portal.mixin"]

    requires_acceptance = fields.Boolean(
        "Requires Client Acceptance",
        tracking=True,
        help="Once reached, the customer is asked to accept the milestone on the "
        "portal; only its acceptance bills it.",
    )
    acceptance_state = fields.Selection(
        ACCEPTANCE_STATES,
        compute="_compute_acceptance_state",
        store=True,
        readonly=True,
        copy=False,
        index=True,
        tracking=True,
    )
    deliverable_summary = fields.Html(
        "Deliverables",
        help="What the customer accepts: shown on the acceptance page of the portal.",
    )
    acceptance_requested_date = fields.Datetime(
        "Acceptance Requested On", copy=False, readonly=True
    )
    acceptance_date = fields.Datetime("Accepted/Rejected On", copy=False, readonly=True)
    acceptance_signed_by = fields.Char(
        "Accepted By", copy=False, readonly=True, tracking=True
    )
    acceptance_signature = fields.Binary(copy=False, readonly=True, attachment=True)
    acceptance_partner_id = fields.Many2one(
        "res.partner",
        "Answered By",
        copy=False,
        readonly=True,
        help="The customer contact who accepted or rejected the milestone.",
    )
    acceptance_offline = fields.Boolean(
        "Accepted Offline",
        copy=False,
        readonly=True,
        help="The acceptance was recorded by the project team, not on the portal.",
    )
    acceptance_note = fields.Text(copy=False, readonly=True)
    acceptance_rejection_reason = fields.Text(
        "Rejection Reason", copy=False, readonly=True
    )

    def write(self, vals):
        if "requires_acceptance" in vals and not self.env.su:
            # Dropping the gate of reached work would bill it at once: that is
            # a billing decision, not a project one.
            if self.filtered(
                lambda m: (
                    m.is_reached
                    and m.requires_acceptance != bool(vals["requires_acceptance"])
                )
            ):
                self._check_billing_amount_access()
        return super().write(vals)

    @api.depends("requires_acceptance")
    def _compute_acceptance_state(self):
        for milestone in self:
            if not milestone.requires_acceptance:
                milestone.acceptance_state = "not_required"
            elif milestone.acceptance_state in (False, "not_required"):
                milestone.acceptance_state = "waiting"

    def _compute_access_url(self):
        res = super()._compute_access_url()
        for milestone in self:
            milestone.access_url = f"/my/milestones/{milestone.id}"
        return res

    # ------------------------------------------------------------
    # ACCEPTANCE
    # ------------------------------------------------------------

    def _is_awaiting_acceptance(self):
        self.ensure_one()
        return (
            self.requires_acceptance
            and self.is_reached
            and self.acceptance_state in ("waiting", "rejected")
        )

    def _request_client_acceptance(self):
        """Ask the customer to accept the reached milestones (automation rule).

        The email carries a link to the milestone's portal page, where the
        customer accepts with name and signature, or rejects with a comment.
        """
        milestones = self.sudo().filtered(
            lambda m: (
                m.requires_acceptance
                and m.is_reached
                and m.acceptance_state != "accepted"
            )
        )
        # Work billed before the gate was set is not asked about again.
        milestones -= milestones._filter_invoiced()
        if not milestones:
            return
        milestones.write(
            {
                "acceptance_state": "waiting",
                "acceptance_requested_date": fields.Datetime.now(),
                "acceptance_rejection_reason": False,
            }
        )
        template = self.env.ref(
            "milestone_billing.mail_template_milestone_acceptance_request"
        )
        for milestone in milestones:
            if not milestone.billing_partner_id:
                milestone.message_post(
                    body=_(
                        "Milestone reached, but no customer can be asked to accept "
                        "it: link it to a sales order line."
                    )
                )
                continue
            milestone._portal_ensure_token()
            milestone.message_post_with_source(
                template,
                email_layout_xmlid="mail.mail_notification_light",
                subtype_xmlid="mail.mt_comment",
            )

    def action_request_acceptance(self):
        """Ask the customer again, e.g. after reworking a rejected milestone."""
        self.check_access("write")
        not_reached = self.filtered(
            lambda m: not m.requires_acceptance or not m.is_reached
        )
        if not_reached:
            raise UserError(
                _(
                    "Milestone %(milestones)s must require client acceptance and be "
                    "reached before the customer can be asked to accept it.",
                    milestones=", ".join(not_reached.mapped("name")),
                )
            )
        accepted = self.filtered(lambda m: m.acceptance_state == "accepted")
        if accepted:
            raise UserError(
                _(
                    "Milestone %(milestones)s is accepted already.",
                    milestones=", ".join(accepted.mapped("name")),
                )
            )
        self._request_client_acceptance()
        return True

    def _check_acceptance_access(self):
        """Customers answer for their own company; the team for its projects."""
        if self.env.su:
            return
        user = self.env.user
        if user.share:
            partner = user.partner_id.commercial_partner_id
            foreign = self.sudo().filtered(
                lambda m: m.billing_partner_id.commercial_partner_id != partner
            )
            if foreign:
                raise AccessError(
                    _(
                        "You can only accept or reject the milestones of your "
                        "own company."
                    )
                )
        else:
            self.check_access("write")

    def _check_awaiting_acceptance(self):
        not_waiting = self.filtered(lambda m: not m._is_awaiting_acceptance())
        for milestone in not_waiting:
            if milestone.acceptance_state == "accepted":
                reason = _("it is accepted already")
            elif not milestone.requires_acceptance:
                reason = _("it does not require client acceptance")
            else:
                reason = _("it is not reached yet")
            raise UserError(
                _(
                    "Milestone %(milestone)s cannot be answered: %(reason)s.",
                    milestone=milestone.name,
                    reason=reason,
                )
            )

    def _get_customer_contact(self):
        """The logged-in customer contact answering, if a customer answers."""
        user = self.env.user
        if user.share and not user._is_public():
            return user.partner_id
        return self.env["res.partner"]

    def action_accept(self, signed_by, signature=None, note=None):
        """Accept the milestones on behalf of the customer, which bills them.

        Called by the portal (customer's name and signature) or by the project
        team recording an acceptance given offline, with a note.
        """
        self._check_acceptance_access()
        signed_by = (signed_by or "").strip()
        if not signed_by:
            raise UserError(_("Give the name of the person who accepts the milestone."))
        offline = not (self.env.su or self.env.user.share)
        contact = self._get_customer_contact()
        milestones = self.sudo()
        milestones._check_awaiting_acceptance()
        now = fields.Datetime.now()
        for milestone in milestones:
            milestone.write(
                {
                    "acceptance_state": "accepted",
                    "acceptance_signed_by": signed_by,
                    "acceptance_signature": signature or False,
                    "acceptance_date": now,
                    "acceptance_partner_id": (
                        contact or milestone.billing_partner_id
                    ).id,
                    "acceptance_offline": offline,
                    "acceptance_note": note or False,
                }
            )
            body = (
                _(
                    "Acceptance given offline by %(name)s, recorded by %(user)s.",
                    name=signed_by,
                    user=self.env.user.name,
                )
                if offline
                else _("Accepted by %(name)s on the portal.", name=signed_by)
            )
            if note:
                body = Markup("%s<br/>%s") % (body, note)
            # A customer's answer reaches the milestone's followers.
            milestone.message_post(
                body=body,
                author_id=milestone.acceptance_partner_id.id
                if not offline
                else self.env.user.partner_id.id,
                subtype_xmlid="mail.mt_note" if offline else "mail.mt_comment",
            )
        milestones._close_rejection_activities()
        # The automation rule bills accepted milestones at the end of the
        # transaction; the retention is released after that, when the order's
        # last milestone was the one awaited.
        final = milestones._filter_final_accepted()
        self._enqueue_billing_work(QUEUE_RELEASE, final.sale_line_id.order_id.ids)
        return True

    def action_reject(self, reason):
        """The customer refuses the milestone: it goes back to its project manager."""
        self._check_acceptance_access()
        reason = (reason or "").strip()
        if not reason:
            raise UserError(
                _("Tell the project team why the milestone is not accepted.")
            )
        contact = self._get_customer_contact()
        milestones = self.sudo()
        milestones._check_awaiting_acceptance()
        for milestone in milestones:
            partner = contact or milestone.billing_partner_id
            milestone.write(
                {
                    "acceptance_state": "rejected",
                    "acceptance_rejection_reason": reason,
                    "acceptance_date": fields.Datetime.now(),
                    "acceptance_partner_id": partner.id,
                }
            )
            milestone.message_post(
                body=_(
                    "Rejected by %(customer)s: %(reason)s",
                    customer=partner.display_name,
                    reason=reason,
                ),
                author_id=partner.id,
                subtype_xmlid="mail.mt_comment",
            )
            milestone.activity_schedule(
                "milestone_billing.mail_activity_type_milestone_rejected",
                summary=_("Client rejected %(milestone)s", milestone=milestone.name),
                note=reason,
                user_id=(
                    milestone.project_id.user_id or milestone._get_billing_responsible()
                ).id,
            )
        return True

    def _close_rejection_activities(self):
        rejected = self.env.ref(
            "milestone_billing.mail_activity_type_milestone_rejected"
        )
        self.activity_ids.filtered(
            lambda a: a.activity_type_id == rejected
        ).action_feedback(feedback=_("The client accepted the milestone."))

    def _filter_final_accepted(self):
        """Accepted milestones whose order has nothing else left to bill."""
        accepted = self.filtered(
            lambda m: m.acceptance_state == "accepted" and m.sale_line_id
        )
        if not accepted:
            return accepted
        orders = accepted.sale_line_id.order_id
        open_orders = accepted._get_orders_left_to_bill(orders)
        return accepted.filtered(lambda m: m.sale_line_id.order_id not in open_orders)

    def _get_acceptance_label(self):
        """How the acceptance reads on the invoice line of the milestone."""
        self.ensure_one()
        if self.acceptance_state != "accepted":
            return ""
        return _(
            "Accepted by %(name)s on %(date)s",
            name=self.acceptance_signed_by,
            date=format_datetime(self.env, self.acceptance_date, dt_format="short"),
        )

    def _release_retention_after_acceptance(self, orders):
        """Draft the retention release of orders whose final milestone was accepted."""
        for order in orders.filtered("retention_percent"):
            try:
                with self.env.cr.savepoint():
                    order.action_release_retention()
            except UserError as error:
                order.message_post(
                    body=_(
                        "The final milestone was accepted, but the retention could "
                        "not be released: %(reason)s",
                        reason=error.args[0],
                    )
                )
