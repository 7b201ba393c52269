from collections import defaultdict
from datetime import date

from dateutil.relativedelta import relativedelta
from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_is_zero, float_round

from .project_milestone import (
    ACCEPTANCE_CLEARED,
    ADJUSTMENT_CONTEXT_KEY,
    BILLING_CONTEXT_KEY,
    CRON_BATCH_SIZE,
    PROGRESS_CONTEXT_KEY,
)


class ProjectMilestone(models.Model):
    _inherit = "project.milestone"

    progress_billing = fields.Boolean(
        "Bill by Progress",
        tracking=True,
        help="Billed at each period end for the progress recorded since its last "
        "invoice, instead of all at once when reached.",
    )
    progress_percent = fields.Float(
        "Progress (%)",
        tracking=True,
        copy=False,
        aggregator="avg",
        help="Percent complete, recorded by the project manager. Reaching the "
        "milestone sets it to 100%.",
    )
    progress_invoiced_percent = fields.Float(
        "Invoiced Progress (%)",
        compute="_compute_progress_invoiced_percent",
        groups="base.group_user",
        help="Progress covered by the live invoices and credit notes of the milestone.",
    )
    progress_billed_date = fields.Date(
        "Progress Billed Until",
        copy=False,
        readonly=True,
        groups="base.group_user",
        help="End of the last period whose progress was billed.",
    )

    @api.constrains("progress_percent")
    def _check_progress_percent(self):
        for milestone in self:
            if not 0.0 <= milestone.progress_percent <= 100.0:
                raise ValidationError(
                    _(
                        "The progress of %(milestone)s must be between 0%% and 100%%.",
                        milestone=milestone.name,
                    )
                )

    @api.depends(
        "invoice_line_ids.quantity", "invoice_line_ids.parent_state", "progress_billing"
    )
    def _compute_progress_invoiced_percent(self):
        for milestone in self:
            total = milestone._get_billing_quantity() if milestone.sale_line_id else 0
            invoiced = milestone._get_invoiced_quantity_and_amount()[0]
            milestone.progress_invoiced_percent = (
                float_round(invoiced / total * 100.0, precision_digits=2)
                if total and milestone.progress_billing
                else 0.0
            )

    def write(self, vals):
        if "progress_billing" in vals:
            self._check_billing_amount_access()
            changed = self.filtered(
                lambda m: m.progress_billing != bool(vals["progress_billing"])
            )
            invoiced = changed._filter_invoiced()
            if invoiced:
                raise UserError(
                    _(
                        "Milestone %(milestones)s is invoiced: whether it is billed "
                        "by progress cannot change any more.",
                        milestones=", ".join(invoiced.mapped("name")),
                    )
                )
        if vals.get("is_reached") and "progress_percent" not in vals:
            # The work is complete: the automation rule bills what is left.
            to_complete = self.filtered(
                lambda m: m.progress_billing and not m.is_reached
            )
            res = super().write(vals)
            if to_complete:
                to_complete.write({"progress_percent": 100.0})
            return res
        return super().write(vals)

    # ------------------------------------------------------------
    # INCREMENTS
    # ------------------------------------------------------------

    def _filter_progress_billable(self):
        return self.filtered(
            lambda m: (
                m.progress_billing
                and m.sale_line_id
                and m.acceptance_state in ACCEPTANCE_CLEARED
            )
        )

    def _get_progress_increments(self):
        """{milestone: (quantity, unit price)} of the progress left to bill.

        The quantity keeps the invoiced quantity of the order line right; the
        unit price makes the amount exact although quantities are rounded, so
        the increments add up to the milestone's amount at 100%. A negative
        quantity means the progress went back.
        """
        precision = self.env["decimal.precision"].precision_get(
            "Product Unit of Measure"
        )
        increments = {}
        for milestone in self:
            line = milestone.sale_line_id
            ratio = milestone.progress_percent / 100.0
            target_quantity = float_round(
                milestone._get_billing_quantity() * ratio, precision_digits=precision
            )
            target_amount = milestone.currency_id.round(
                milestone.billing_amount * ratio
            )
            invoiced_quantity, invoiced_amount = (
                milestone._get_invoiced_quantity_and_amount()
            )
            quantity = float_round(
                target_quantity - invoiced_quantity, precision_digits=precision
            )
            amount = target_amount - invoiced_amount
            if float_is_zero(quantity, precision_digits=precision):
                continue
            # The invoice line keeps the order line's discount.
            net_ratio = 1.0 - (line.discount or 0.0) / 100.0
            price_unit = (
                amount / (quantity * net_ratio) if net_ratio else line.price_unit
            )
            increments[milestone] = (quantity, price_unit)
        return increments

    def _get_progress_left_after(self, amounts):
        """Orders whose progress-billed milestones in ``self`` stay incomplete
        once ``amounts`` are billed: they keep deducting down payments pro rata."""
        return self.filtered(
            lambda m: (
                m.progress_billing and not m._is_billed_in_full(amounts.get(m.id, 0.0))
            )
        ).sale_line_id.order_id

    def _bill_progress(self, period_end=None):
        """Draft the progress increments of the milestones since their last invoice.

        Forward progress is invoiced per order through the native sale path,
        with its share of down payments and retention; progress that went back
        is never undone silently: a draft credit note is proposed to AR.

        :param period_end: the period billed, kept on the milestones
        """
        self._lock_for_billing()
        milestones = self._filter_progress_billable()
        increments = milestones._get_progress_increments()
        forward = {m: inc for m, inc in increments.items() if inc[0] > 0}
        backward = {m: inc for m, inc in increments.items() if inc[0] < 0}
        billed = self.browse().concat(*forward)
        billed._check_billing_rules({m: inc[0] for m, inc in forward.items()})
        moves = self.env["account.move"]
        for order in billed.sale_line_id.order_id:
            batch = {
                m: inc for m, inc in forward.items() if m.sale_line_id.order_id == order
            }
            moves |= order.with_context(
                **{
                    BILLING_CONTEXT_KEY: [m.id for m in batch],
                    PROGRESS_CONTEXT_KEY: {
                        m.id: (quantity, price_unit, m.progress_percent)
                        for m, (quantity, price_unit) in batch.items()
                    },
                }
            )._create_invoices(grouped=True)
        # Before the proposals: clearing a failure removes its activities, and
        # the proposal schedules one of the same type.
        milestones._clear_billing_failure()
        for milestone, increment in backward.items():
            moves |= milestone._propose_progress_credit_note(increment)
        if period_end:
            milestones.write({"progress_billed_date": period_end})
        return moves

    def _propose_progress_credit_note(self, increment):
        """Draft the credit note of progress that went back, for AR to decide.

        :param increment: (quantity, unit price), the quantity negative
        """
        self.ensure_one()
        invoiced_percent = self.progress_invoiced_percent
        credit_note = self.sale_line_id.order_id.with_context(
            **{
                BILLING_CONTEXT_KEY: self.ids,
                ADJUSTMENT_CONTEXT_KEY: {self.id: increment},
            }
        )._create_invoices(grouped=True, final=True)
        message = _(
            "Progress went back from %(invoiced)s%% to %(progress)s%%: credit note "
            "%(credit_note)s is proposed in draft; post it or delete it.",
            invoiced=float_round(invoiced_percent, precision_digits=2),
            progress=float_round(self.progress_percent, precision_digits=2),
            credit_note=Markup(", ").join(m._get_html_link() for m in credit_note),
        )
        self.message_post(body=message)
        self.activity_schedule(
            "milestone_billing.mail_activity_type_milestone_billing",
            summary=_("Review the progress credit note"),
            note=message,
            user_id=self._get_billing_responsible().id,
        )
        return credit_note

    def action_bill_progress(self):
        """Bill the progress recorded so far now, without waiting for the period end."""
        self._check_billing_amount_access()
        not_progress = self.filtered(lambda m: not m.progress_billing)
        if not_progress:
            raise UserError(
                _(
                    "Milestone %(milestones)s is not billed by progress.",
                    milestones=", ".join(not_progress.mapped("name")),
                )
            )
        moves = self.sudo()._bill_progress()
        if not moves:
            raise UserError(_("The progress recorded is invoiced already."))
        return self.sale_line_id.order_id[:1].action_view_invoice(
            moves.with_env(self.env)
        )

    # ------------------------------------------------------------
    # SCHEDULED JOB
    # ------------------------------------------------------------

    @api.model
    def _get_progress_period_end(self, company, today):
        """The end of the last period of ``company`` that is over on ``today``."""
        months = 3 if company.milestone_progress_period == "quarter" else 1
        period_start = date(today.year, (today.month - 1) // months * months + 1, 1)
        period_end = period_start + relativedelta(months=months, days=-1)
        return today if today == period_end else period_start - relativedelta(days=1)

    @api.model
    def _cron_bill_progress(self, today=None, batch_size=CRON_BATCH_SIZE):
        """Draft the progress increments of the periods that are over."""
        today = today or fields.Date.context_today(self)
        candidates = self.search(
            [
                ("progress_billing", "=", True),
                ("sale_line_id.order_id.state", "=", "sale"),
                ("acceptance_state", "in", ACCEPTANCE_CLEARED),
            ]
        )
        period_ends = {
            company: self._get_progress_period_end(company, today)
            for company in candidates.sale_line_id.company_id
        }
        due = candidates.filtered(
            lambda m: (
                not m.progress_billed_date
                or m.progress_billed_date < period_ends[m.sale_line_id.company_id]
            )
        )
        batch = due[:batch_size]
        by_period_end = defaultdict(self.browse)
        for milestone in batch:
            by_period_end[period_ends[milestone.sale_line_id.company_id]] |= milestone
        for period_end, milestones in by_period_end.items():
            milestones._isolate_billing_failures(
                lambda ms, end=period_end: ms._bill_progress(end)
            )
        if batch:
            self.env["ir.cron"]._notify_progress(
                done=len(batch), remaining=len(due) - len(batch)
            )
        if len(due) > batch_size:
            self.env.ref(
                "milestone_billing.ir_cron_milestone_progress_billing"
            )._trigger()
