from odoo import _, http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request
from odoo.tools import consteq

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager


class MilestoneAcceptancePortal(CustomerPortal):
    def _get_acceptance_domain(self):
        partner = request.env.user.partner_id.commercial_partner_id
        return [
            ("requires_acceptance", "=", True),
            ("is_reached", "=", True),
            ("billing_partner_id", "child_of", partner.id),
        ]

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "milestone_acceptance_count" in counters:
            values["milestone_acceptance_count"] = (
                request.env["project.milestone"]
                .sudo()
                .search_count(
                    [
                        *self._get_acceptance_domain(),
                        ("acceptance_state", "in", ("waiting", "rejected")),
                    ]
                )
                if request.env.user.share and not request.env.user._is_public()
                else 0
            )
        return values

    def _milestone_check_access(self, milestone_id, access_token=None):
        """The milestone, in sudo, if the visitor may answer for it.

        A logged-in customer sees the milestones of their own company only; an
        anonymous visitor needs the link of the acceptance request.
        """
        milestone = request.env["project.milestone"].sudo().browse(milestone_id)
        if not milestone.exists() or not milestone.requires_acceptance:
            raise MissingError(_("This milestone does not exist."))
        user = request.env.user
        if user._is_public():
            if not (
                access_token
                and milestone.access_token
                and consteq(milestone.access_token, access_token)
            ):
                raise AccessError(_("This link is not valid."))
        elif user.share:
            partner = user.partner_id.commercial_partner_id
            if milestone.billing_partner_id.commercial_partner_id != partner:
                raise AccessError(_("This milestone belongs to another company."))
        else:
            milestone.with_user(user).check_access("read")
        return milestone

    def _milestone_for_answer(self, milestone_sudo):
        # Customers answer with their own rights (checked by the model);
        # anonymous visitors through the checked link.
        if request.env.user._is_public():
            return milestone_sudo
        return milestone_sudo.with_user(request.env.user)

    @http.route(
        ["/my/milestones", "/my/milestones/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_milestones(self, page=1, **kw):
        if not request.env.user.share:
            return request.redirect(
                "/odoo/action-milestone_billing.project_milestone_action_billing"
            )
        Milestone = request.env["project.milestone"].sudo()
        domain = self._get_acceptance_domain()
        pager = portal_pager(
            url="/my/milestones",
            total=Milestone.search_count(domain),
            page=page,
            step=self._items_per_page,
        )
        milestones = Milestone.search(
            domain,
            order="reached_date desc, id desc",
            limit=self._items_per_page,
            offset=pager["offset"],
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "milestones": milestones,
                "page_name": "milestone_acceptance",
                "pager": pager,
                "default_url": "/my/milestones",
            }
        )
        return request.render("milestone_billing.portal_my_milestones", values)

    @http.route(
        ["/my/milestones/<int:milestone_id>"], type="http", auth="public", website=True
    )
    def portal_milestone_page(
        self, milestone_id, access_token=None, message=None, **kw
    ):
        try:
            milestone = self._milestone_check_access(milestone_id, access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "milestone": milestone,
                "page_name": "milestone_acceptance",
                "access_token": access_token or "",
                "message": message,
                "can_answer": milestone._is_awaiting_acceptance(),
            }
        )
        return request.render("milestone_billing.portal_milestone_page", values)

    @http.route(
        ["/my/milestones/<int:milestone_id>/accept"],
        type="json",
        auth="public",
        website=True,
    )
    def portal_milestone_accept(
        self, milestone_id, access_token=None, name=None, signature=None
    ):
        access_token = access_token or request.httprequest.args.get("access_token")
        try:
            milestone = self._milestone_check_access(milestone_id, access_token)
        except (AccessError, MissingError):
            return {"error": _("This milestone cannot be answered from this link.")}
        if not signature:
            return {"error": _("Sign to accept the milestone.")}
        try:
            self._milestone_for_answer(milestone).action_accept(name, signature)
        except (UserError, AccessError) as error:
            return {"error": error.args[0]}
        query = "message=accepted"
        if access_token:
            query += f"&access_token={access_token}"
        return {
            "force_refresh": True,
            "redirect_url": f"{milestone.access_url}?{query}",
        }

    @http.route(
        ["/my/milestones/<int:milestone_id>/reject"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_milestone_reject(
        self, milestone_id, access_token=None, reason=None, **kw
    ):
        try:
            milestone = self._milestone_check_access(milestone_id, access_token)
        except (AccessError, MissingError):
            return request.redirect("/my")
        query = "message=rejected"
        try:
            self._milestone_for_answer(milestone).action_reject(reason)
        except UserError:
            query = "message=reason_missing"
        if access_token:
            query += f"&access_token={access_token}"
        return request.redirect(f"{milestone.access_url}?{query}")
