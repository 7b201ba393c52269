import logging
import uuid
from collections import defaultdict
from datetime import date

from dateutil.relativedelta import relativedelta
from markupsafe import Markup
from psycopg2.errors import LockNotAvailable, SerializationFailure

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, float_compare, float_is_zero, float_round, format_amount

from odoo.addons.project.models.project_task import CLOSED_STATES

_logger = logging.getLogger(__name__)

# Context key that narrows the native sale invoicing path to given milestones.
BILLING_CONTEXT_KEY = "milestone_billing_milestone_ids"
# {milestone id: quantity} billed as a change order instead of the milestone.
ADJUSTMENT_CONTEXT_KEY = "milestone_billing_adjustments"
# {milestone id: (quantity, unit price, percent)}: progress increments to bill.
PROGRESS_CONTEXT_KEY = "milestone_billing_progress"
# Keys of the per-transaction work queue kept in the cursor's precommit data.
QUEUE_SYNC_TASKS = "milestone_billing.sync_task_ids"
QUEUE_SYNC_MILESTONES = "milestone_billing.sync_milestone_ids"
QUEUE_BILL = "milestone_billing.bill_milestone_ids"
QUEUE_RELEASE = "milestone_billing.release_order_ids"
QUEUE_HOOKED = "milestone_billing.hooked"
BILLING_GROUPS = ("sales_team.group_sale_salesman", "account.group_account_invoice")
AMOUNT_FIELDS = (
    "sale_line_id",
    "quantity_percentage",
    "product_uom_qty",
    "billing_amount",
)
CRON_BATCH_SIZE = 50
BILLING_STATES = [
    ("not_billable", "Not Billable"),
    ("planned", "Planned"),
    ("to_invoice", "To Invoice"),
    ("draft", "Draft Invoice"),
    ("posted", "Posted"),
    ("paid", "Paid"),
]
UNBILLED_STATES = ("to_invoice", "draft")
# Acceptance states that let a milestone be billed.
ACCEPTANCE_CLEARED = ("not_required", "accepted")


class BillingBusyError(UserError):
    """Another transaction holds the milestone: the billing must wait, not fail."""


class ProjectMilestone(models.Model):
    _name = "project.milestone"
    _inherit = ["project.milestone", "mail.activity.mixin"]

    reached_by_tasks = fields.Boolean(
        copy=False,
        readonly=True,
        help="Technical: the milestone was reached because its tasks were finished, "
        "so reopening one of them un-reaches it.",
    )
    invoice_line_ids = fields.One2many(
        "account.move.line",
        "milestone_id",
        string="Invoice Lines",
        readonly=True,
        copy=False,
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )
    invoice_id = fields.Many2one(
        "account.move",
        compute="_compute_invoice_id",
        groups="account.group_account_invoice,sales_team.group_sale_salesman",
    )
    billing_state = fields.Selection(
        BILLING_STATES,
        compute="_compute_billing_state",
        store=True,
        index=True,
        tracking=True,
        group_expand="_read_group_expand_billing_state",
        groups="base.group_user",
    )
    billing_partner_id = fields.Many2one(
        related="sale_line_id.order_partner_id",
        string="Billed Customer",
        store=True,
        index="btree_not_null",
    )
    project_user_id = fields.Many2one(
        related="project_id.user_id", string="Project Manager", store=True
    )
    days_since_reached = fields.Integer(compute="_compute_days_since_reached")
    is_billing_late = fields.Boolean(
        "Billing Late",
        compute="_compute_days_since_reached",
        search="_search_is_billing_late",
        help="Reached longer ago than the company's billing delay and not posted yet.",
    )
    currency_id = fields.Many2one(related="sale_line_id.currency_id")
    billing_amount = fields.Monetary(
        compute="_compute_billing_amount",
        inverse="_inverse_billing_amount",
        store=True,
        readonly=False,
        currency_field="currency_id",
        groups="base.group_user",
        help="Untaxed amount of the milestone: its share of the sales order line. "
        "Enter the amount or the percentage: the other follows.",
    )
    template_percentage = fields.Float(
        "Share on Orders (%)",
        help="On a project template: the share of the sales order line this "
        "milestone bills once an order creates a project from the template. "
        "Without it, the order line is split equally among the milestones.",
    )
    billing_error = fields.Text(
        copy=False,
        readonly=True,
        groups="base.group_user",
        help="Why the last automatic attempt to draft the invoice failed.",
    )
    billing_pending = fields.Boolean(
        copy=False,
        readonly=True,
        index=True,
        groups="base.group_user",
        help="The draft invoice still has to be created: the scheduled job retries it.",
    )

    # ------------------------------------------------------------
    # COMPUTES
    # ------------------------------------------------------------

    @api.depends("invoice_line_ids.parent_state")
    def _compute_invoice_id(self):
        for milestone in self:
            milestone.invoice_id = milestone._get_live_invoice_lines().move_id[-1:]

    @api.depends(
        "sale_line_id",
        "is_reached",
        "invoice_line_ids.parent_state",
        "invoice_line_ids.move_id.payment_state",
    )
    def _compute_billing_state(self):
        for milestone in self:
            moves = milestone._get_live_invoice_lines().move_id
            if not milestone.sale_line_id:
                milestone.billing_state = "not_billable"
            elif moves:
                milestone.billing_state = self._billing_state_from_moves(moves)
            elif milestone.is_reached:
                milestone.billing_state = "to_invoice"
            else:
                milestone.billing_state = "planned"

    @api.model
    def _billing_state_from_moves(self, moves):
        if all(move.payment_state in ("paid", "in_payment") for move in moves):
            return "paid"
        if any(move.state == "posted" for move in moves):
            return "posted"
        return "draft"

    @api.depends("reached_date", "billing_state")
    @api.depends_context("company")
    def _compute_days_since_reached(self):
        today = fields.Date.context_today(self)
        for milestone in self:
            days = milestone.reached_date and (today - milestone.reached_date).days
            milestone.days_since_reached = days or 0
            milestone.is_billing_late = bool(
                milestone.reached_date
                and milestone.billing_state in UNBILLED_STATES
                and days > milestone._get_billing_late_days()
            )

    def _get_billing_late_days(self):
        company = self.sale_line_id.order_id.company_id or self.env.company
        return company.milestone_billing_late_days

    def _search_is_billing_late(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Operation not supported"))
        late_before = fields.Date.context_today(self) - relativedelta(
            days=self.env.company.milestone_billing_late_days
        )
        domain = [
            ("billing_state", "in", UNBILLED_STATES),
            ("reached_date", "<", late_before),
        ]
        return domain if (operator == "=") == value else ["!", *domain]

    @api.model
    def _read_group_expand_billing_state(self, states, domain):
        return [key for key, _label in BILLING_STATES if key != "not_billable"]

    @api.depends("sale_line_id.price_subtotal", "quantity_percentage")
    def _compute_billing_amount(self):
        for milestone in self:
            line = milestone.sale_line_id
            milestone.billing_amount = line and line.currency_id.round(
                line.price_subtotal * milestone.quantity_percentage
            )

    def _inverse_billing_amount(self):
        for milestone in self:
            subtotal = milestone.sale_line_id.price_subtotal
            if not subtotal:
                if milestone.billing_amount:
                    raise ValidationError(
                        _(
                            "Milestone %(milestone)s needs a sales order line with a "
                            "price before an amount can be given.",
                            milestone=milestone.name,
                        )
                    )
                continue
            milestone.quantity_percentage = milestone.billing_amount / subtotal

    @api.constrains("sale_line_id", "quantity_percentage")
    def _check_schedule_within_line(self):
        """The milestones of a sales order line never bill more than the line."""
        coverage = self.env["project.milestone"]._read_group(
            [("sale_line_id", "in", self.sale_line_id.ids)],
            ["sale_line_id"],
            ["quantity_percentage:sum"],
        )
        over = [
            (line, total)
            for line, total in coverage
            if float_compare(total, 1.0, precision_digits=4) > 0
        ]
        if over:
            line, total = over[0]
            raise ValidationError(
                _(
                    "The milestones of %(line)s add up to %(total)s%% of the line: "
                    "a billing schedule cannot exceed 100%%.",
                    line=line.display_name,
                    total=float_round(total * 100, precision_digits=2),
                )
            )

    # ------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------

    def write(self, vals):
        billed = self.browse()
        if any(fname in vals for fname in AMOUNT_FIELDS):
            if not self.env.su:
                self._check_billing_amount_access()
            invoiced = self._filter_invoiced()
            if invoiced and "sale_line_id" in vals:
                raise UserError(
                    _(
                        "Milestone %(milestones)s is invoiced: it cannot move to "
                        "another sales order line. Cancel its invoice first.",
                        milestones=", ".join(invoiced.mapped("name")),
                    )
                )
            # The next increment of a progress-billed milestone follows its
            # new amount by itself.
            billed = invoiced.filtered(lambda m: not m.progress_billing)
        unreached = self.browse()
        if vals.get("is_reached") is False:
            unreached = self.filtered("is_reached")
            vals = dict(vals, reached_by_tasks=False)
        res = super().write(vals)
        if billed:
            billed.sudo()._apply_change_order()
        if unreached:
            unreached._billing_on_unreached()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_invoiced(self):
        billed = self._filter_invoiced()
        if billed:
            raise UserError(
                _(
                    "Milestone %(milestones)s is invoiced and cannot be deleted.",
                    milestones=", ".join(billed.mapped("name")),
                )
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_create_draft_invoice(self):
        """Bill the selected reached milestones now (button and list action)."""
        self._check_billing_amount_access()
        not_reached = self.filtered(lambda m: not m.is_reached)
        if not_reached:
            raise UserError(
                _(
                    "Milestone %(milestones)s is not reached yet: mark it reached "
                    "(or finish its tasks) before invoicing it.",
                    milestones=", ".join(not_reached.mapped("name")),
                )
            )
        unaccepted = self.filtered(
            lambda m: m.requires_acceptance and m.acceptance_state != "accepted"
        )
        if unaccepted:
            raise UserError(
                _(
                    "Milestone %(milestones)s requires client acceptance: it is "
                    "invoiced once the customer accepts it (or record an offline "
                    "acceptance).",
                    milestones=", ".join(unaccepted.mapped("name")),
                )
            )
        milestones = self._filter_billable()
        if not milestones:
            raise UserError(_("These milestones have nothing left to invoice."))
        moves = milestones.sudo()._create_draft_invoices()
        return milestones.sale_line_id.order_id.action_view_invoice(moves)

    @api.model
    def _get_billing_milestones_action(self, name, domain, context=None):
        """The billing milestones action narrowed to ``domain``, by billing state."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "milestone_billing.project_milestone_action_billing"
        )
        action.update(
            name=name,
            domain=domain,
            context={"group_by": "billing_state", **(context or {})},
        )
        return action

    def action_view_invoice(self):
        self._check_billing_amount_access()
        moves = self.sudo()._get_live_invoice_lines().move_id
        return self.sale_line_id.order_id[:1].action_view_invoice(
            moves.with_env(self.env)
        )

    # ------------------------------------------------------------
    # BUSINESS: REACHED STATUS FROM TASKS
    # ------------------------------------------------------------

    @api.model
    def _enqueue_billing_work(self, key, ids):
        """Queue work for the end of the transaction.

        The automation engine runs its actions one record at a time; queuing
        lets a mass edit of N tasks become one batch, so the milestones of one
        order reached in one transaction share one draft invoice.
        """
        if not ids:
            return
        data = self.env.cr.precommit.data
        data.setdefault(key, set()).update(ids)
        if not data.get(QUEUE_HOOKED):
            data[QUEUE_HOOKED] = True
            # The trigger usually comes from users without accounting rights
            # (project managers, portal collaborators): the queue is worked off
            # by the engine itself, as the automation rules are.
            milestone_model = self.sudo()
            self.env.cr.precommit.add(milestone_model._process_billing_queue)

    def _process_billing_queue(self):
        data = self.env.cr.precommit.data
        data.pop(QUEUE_HOOKED, None)
        # Taken out first: the savepoints of the billing below flush the
        # cursor, which runs and then clears the precommit data.
        release_ids = data.pop(QUEUE_RELEASE, set())
        locked = self.browse()
        while any(
            data.get(key)
            for key in (QUEUE_SYNC_TASKS, QUEUE_SYNC_MILESTONES, QUEUE_BILL)
        ):
            task_ids = data.pop(QUEUE_SYNC_TASKS, set())
            milestone_ids = data.pop(QUEUE_SYNC_MILESTONES, set())
            bill_ids = data.pop(QUEUE_BILL, set())
            if milestone_ids:
                tasks = self.env["project.task"].browse(task_ids)
                locked |= self.browse(milestone_ids)._sync_reached_from_tasks(tasks)
            if bill_ids:
                to_bill = self.browse(bill_ids)
                to_bill = (to_bill & locked) | (to_bill - locked).exists()
                to_bill._bill_or_record_failure(locked=locked)
        if release_ids:
            self._release_retention_after_acceptance(
                self.env["sale.order"].browse(release_ids)
            )

    def _lock_for_billing(self):
        """Lock the milestones; raise BillingBusyError if another transaction has one.

        Holding the lock until commit is not enough under repeatable read: the
        transaction must also rewrite the row (see ``_touch``), so that a
        concurrent one with an older snapshot fails to lock it instead of
        deciding on stale data.
        """
        if not self:
            return self
        self.flush_recordset()
        # A failed lock must not abort the transaction (the user's write is in
        # it): the savepoint is taken in the same round trip as the lock.
        savepoint = SQL.identifier(f"milestone_billing_lock_{uuid.uuid4().hex}")
        try:
            self.env.cr.execute(
                SQL(
                    "SAVEPOINT %s; SELECT id FROM project_milestone WHERE id IN %s"
                    " FOR NO KEY UPDATE NOWAIT",
                    savepoint,
                    tuple(self.ids),
                )
            )
            # Work queued earlier in the transaction may have been deleted.
            locked = self.browse(row[0] for row in self.env.cr.fetchall())
        except (LockNotAvailable, SerializationFailure) as error:
            self.env.cr.execute(
                SQL(
                    "ROLLBACK TO SAVEPOINT %s; RELEASE SAVEPOINT %s",
                    savepoint,
                    savepoint,
                )
            )
            raise BillingBusyError(
                _(
                    "Milestone %(milestones)s is being updated by another user; "
                    "try again in a moment.",
                    milestones=", ".join(self.exists().mapped("name")),
                )
            ) from error
        self.env.cr.execute(SQL("RELEASE SAVEPOINT %s", savepoint))
        return locked

    def _touch(self):
        """Rewrite the rows of locked milestones this transaction leaves unchanged."""
        if self:
            self.env.cr.execute(
                SQL(
                    "UPDATE project_milestone SET write_date = %s WHERE id IN %s",
                    fields.Datetime.now(),
                    tuple(self.ids),
                )
            )
            self.invalidate_recordset(["write_date"])

    def _lock_available(self):
        """Lock what can be locked now.

        :return: (locked milestones, busy milestones)
        """
        try:
            return self._lock_for_billing(), self.browse()
        except BillingBusyError:
            locked = busy = self.browse()
            for milestone in self:
                try:
                    locked |= milestone._lock_for_billing()
                except BillingBusyError:
                    busy |= milestone
            return locked, busy

    def _get_task_progress(self):
        """Return {milestone id: (finished count, open count)} of active tasks."""
        progress = defaultdict(lambda: [0, 0])
        groups = self.env["project.task"]._read_group(
            [("milestone_id", "in", self.ids)],
            ["milestone_id", "stage_id", "state"],
            ["__count"],
        )
        for milestone, stage, state, count in groups:
            if state == "1_canceled":
                continue
            finished = state == "1_done" or (
                stage.is_done_stage and state not in CLOSED_STATES
            )
            progress[milestone.id][0 if finished else 1] += count
        return progress

    def _sync_reached_from_tasks(self, tasks=None):
        """Reach the milestones whose tasks are all finished, un-reach reopened ones.

        :param tasks: the tasks whose change asked for the sync; they keep a
            pending flag for the scheduled job when a milestone is busy.
        :return: the milestones locked by this transaction
        """
        locked, busy = self._lock_available()
        if busy and tasks:
            tasks.exists().filtered(lambda t: t.milestone_id in busy).write(
                {"milestone_sync_pending": True}
            )
            self.env.ref("milestone_billing.ir_cron_milestone_billing")._trigger()
        evaluated = locked.filtered("project_id.allow_milestones")
        if not evaluated:
            return locked
        progress = evaluated._get_task_progress()
        to_reach = self.browse()
        to_unreach = self.browse()
        for milestone in evaluated:
            finished, still_open = progress.get(milestone.id, (0, 0))
            complete = finished and not still_open
            if complete and not milestone.is_reached:
                to_reach |= milestone
            elif not complete and milestone.is_reached and milestone.reached_by_tasks:
                to_unreach |= milestone
        if to_reach:
            to_reach.write({"is_reached": True, "reached_by_tasks": True})
        if to_unreach:
            to_unreach.write({"is_reached": False})
        (evaluated - to_reach - to_unreach)._touch()
        return locked

    # ------------------------------------------------------------
    # BUSINESS: BILLING
    # ------------------------------------------------------------

    def _get_live_invoice_lines(self):
        return self.invoice_line_ids.filtered(
            lambda line: line.parent_state != "cancel"
        )

    def _filter_invoiced(self):
        """Milestones with a live invoice line, whoever reads (it is AR data)."""
        invoiced = self.sudo()._get_live_invoice_lines().milestone_id
        return self.filtered(lambda milestone: milestone.id in invoiced._ids)

    def _filter_invoiced_in_full(self):
        """Invoiced milestones, progress-billed ones only once billed to 100%."""
        return self._filter_invoiced().filtered(
            lambda m: not m.progress_billing or m._is_billed_in_full()
        )

    def _get_invoiced_quantity_and_amount(self):
        """(quantity, untaxed amount) of the milestone on its live documents,
        credit notes deducted."""
        self.ensure_one()
        quantity = amount = 0.0
        for line in self.sudo()._get_live_invoice_lines():
            sign = -1 if line.move_id.move_type == "out_refund" else 1
            quantity += sign * line.quantity
            amount += sign * line.price_subtotal
        return quantity, amount

    def _is_billed_in_full(self, billing_now=0.0):
        """Whether the live documents (and ``billing_now``) bill the whole amount."""
        self.ensure_one()
        invoiced = self._get_invoiced_quantity_and_amount()[1] + billing_now
        return self.currency_id.compare_amounts(invoiced, self.billing_amount) >= 0

    def _get_orders_left_to_bill(self, orders):
        """The ``orders`` with a milestone outside ``self`` not billed in full."""
        others = self.search(
            [("sale_line_id.order_id", "in", orders.ids), ("id", "not in", self.ids)]
        )
        return (others - others._filter_invoiced_in_full()).sale_line_id.order_id

    def _filter_billable(self):
        """Reached milestones with a sale order line and no live invoice line,
        accepted by the customer when they must be."""
        reached = self.filtered(
            lambda m: (
                m.is_reached
                and m.sale_line_id
                and not m.progress_billing
                and m.acceptance_state in ACCEPTANCE_CLEARED
            )
        )
        return reached - reached._filter_invoiced()

    def _auto_create_draft_invoices(self):
        """Entry point of the "milestone reached -> draft invoice" automation rule.

        It never raises: an exception here would roll back the user's write.
        The invoice is drafted at the end of the transaction, failures are
        recorded on the milestone and retried by the scheduled job.
        """
        self._enqueue_billing_work(QUEUE_BILL, self.ids)

    def _bill_or_record_failure(self, locked=None):
        """Draft the invoices of the billable milestones in ``self``, isolating failures

        :param locked: milestones this transaction already locked
        """
        moves = self._filter_billable()._isolate_billing_failures(
            lambda batch: batch._create_draft_invoices(locked=locked)
        )
        # Reaching a progress-billed milestone completes it: what is left of
        # it is billed at once too.
        progress = self._filter_progress_billable().filtered(
            lambda m: m.is_reached or m.billing_pending
        )
        return moves | progress._isolate_billing_failures(
            lambda batch: batch._bill_progress()
        )

    def _isolate_billing_failures(self, bill):
        """Run ``bill`` on the milestones at once, or one by one if that fails.

        Each failure is recorded on its milestone, never raised.

        :param bill: function of a milestone recordset returning the moves
        """
        moves = self.env["account.move"]
        if not self:
            return moves
        try:
            with self.env.cr.savepoint():
                moves = bill(self)
            return moves
        except Exception:  # noqa: BLE001 - narrowed down record by record below
            _logger.info("Batch billing of %s failed, retrying one by one", self)
        for milestone in self:
            try:
                with self.env.cr.savepoint():
                    moves |= bill(milestone)
            except BillingBusyError:
                # Another transaction holds the milestone (and will bill it, or
                # leave it pending): nothing to record on a row we cannot write.
                self.env.ref("milestone_billing.ir_cron_milestone_billing")._trigger()
            except Exception as error:  # noqa: BLE001 - any failure must be kept for AR
                milestone._record_billing_failure(error)
        return moves

    def _check_billing_rules(self, quantities=None):
        """Raise a UserError explaining why the milestones cannot be billed now.

        :param quantities: {milestone: quantity to bill}, the whole milestone
            by default
        """
        precision = self.env["decimal.precision"].precision_get(
            "Product Unit of Measure"
        )
        line_quantities = defaultdict(float)
        for milestone in self:
            order = milestone.sale_line_id.order_id
            if order.state != "sale":
                raise UserError(
                    _(
                        "Milestone %(milestone)s cannot be invoiced: "
                        "sales order %(order)s "
                        "is not confirmed.",
                        milestone=milestone.name,
                        order=order.name,
                    )
                )
            customer = order.partner_invoice_id
            if not customer.active:
                raise UserError(
                    _(
                        "Milestone %(milestone)s cannot be invoiced: "
                        "the invoice address "
                        "%(customer)s of %(order)s is archived.",
                        milestone=milestone.name,
                        customer=customer.display_name,
                        order=order.name,
                    )
                )
            line_quantities[milestone.sale_line_id] += (
                quantities[milestone]
                if quantities
                else milestone._get_billing_quantity()
            )
        for line, quantity in line_quantities.items():
            if (
                float_compare(line.qty_to_invoice, quantity, precision_digits=precision)
                < 0
            ):
                raise UserError(
                    _(
                        "Sales order line %(line)s has %(left)s left to invoice, "
                        "less than "
                        "the %(quantity)s of its reached milestones: it was probably "
                        "invoiced from the sales order already.",
                        line=line.display_name,
                        left=line.qty_to_invoice,
                        quantity=quantity,
                    )
                )

    def _get_billing_quantity(self):
        self.ensure_one()
        line = self.sale_line_id
        return float_round(
            self.quantity_percentage * line.product_uom_qty,
            precision_rounding=line.product_uom.rounding or 0.01,
        )

    def _prepare_invoice_line_label(self, line_label):
        self.ensure_one()
        label = _(
            "%(line)s\nMilestone: %(milestone)s", line=line_label, milestone=self.name
        )
        acceptance = self._get_acceptance_label()
        return f"{label}\n{acceptance}" if acceptance else label

    def _split_invoice_line_commands(self, line_commands):
        """Split the invoice line of a sale order line into one line per milestone."""
        milestones_by_line = defaultdict(lambda: self.browse())
        for milestone in self:
            milestones_by_line[milestone.sale_line_id.id] |= milestone
        adjustments = self.env.context.get(ADJUSTMENT_CONTEXT_KEY) or {}
        progress = self.env.context.get(PROGRESS_CONTEXT_KEY) or {}
        line_values = {}
        for command in line_commands:
            vals = command[2]
            sale_line_id = vals.get("sale_line_ids") and vals["sale_line_ids"][0][1]
            for milestone in milestones_by_line.get(sale_line_id, []):
                line_values[milestone] = milestone._prepare_milestone_line_values(
                    vals, adjustments.get(milestone.id), progress.get(milestone.id)
                )
        amounts = {
            milestone.id: milestone._get_line_amount(vals)
            for milestone, vals in line_values.items()
        }
        down_payment_quantities = (
            {} if adjustments else self._get_down_payment_quantities(amounts)
        )
        # The acceptance of the order's final milestone releases the retention
        # at once: there is nothing left to withhold on it.
        withholding = self.filtered("sale_line_id.order_id.retention_percent")
        withholding -= withholding._filter_final_accepted()
        result = []
        for command in line_commands:
            vals = command[2]
            sale_line_id = vals.get("sale_line_ids") and vals["sale_line_ids"][0][1]
            if sale_line_id in down_payment_quantities:
                vals["quantity"], vals["price_unit"] = down_payment_quantities[
                    sale_line_id
                ]
            milestones = milestones_by_line.get(sale_line_id)
            if not milestones:
                result.append(command)
                continue
            for milestone in milestones:
                result.append(Command.create(line_values[milestone]))
                if milestone in withholding:
                    result.append(
                        Command.create(
                            milestone._prepare_retention_line_values(
                                vals, amounts[milestone.id]
                            )
                        )
                    )
        return result

    def _get_line_amount(self, line_vals):
        """Untaxed amount of the invoice line values ``line_vals``."""
        return self.currency_id.round(
            line_vals["quantity"]
            * line_vals["price_unit"]
            * (1.0 - (line_vals.get("discount") or 0.0) / 100.0)
        )

    def _prepare_milestone_line_values(self, vals, adjustment=None, progress=None):
        """The invoice line of the milestone, from the order line's ``vals``.

        :param adjustment: quantity, or (quantity, unit price), of a change
            order or a progress correction
        :param progress: (quantity, unit price, percent) of a progress increment
        """
        self.ensure_one()
        label = self._prepare_invoice_line_label(vals["name"])
        line_vals = dict(vals, milestone_id=self.id)
        if adjustment is not None:
            quantity, price_unit = (
                adjustment
                if isinstance(adjustment, (tuple, list))
                else (adjustment, None)
            )
            line_vals.update(
                quantity=quantity,
                name=(
                    _("Progress correction on %(label)s", label=label)
                    if self.progress_billing
                    else _("Change order on %(label)s", label=label)
                ),
                milestone_adjustment=True,
            )
            if price_unit is not None:
                line_vals["price_unit"] = price_unit
        elif progress is not None:
            quantity, price_unit, percent = progress
            line_vals.update(
                quantity=quantity,
                price_unit=price_unit,
                name=_(
                    "Progress to %(percent)s%% on %(label)s",
                    percent=float_round(percent, precision_digits=2),
                    label=label,
                ),
                milestone_adjustment=True,
            )
        else:
            line_vals.update(quantity=self._get_billing_quantity(), name=label)
        return line_vals

    def _prepare_retention_line_values(self, milestone_line_values, amount):
        """The line withholding the order's retention from this milestone's invoice.

        :param amount: the untaxed amount billed for the milestone
        """
        self.ensure_one()
        order = self.sale_line_id.order_id
        account = order.company_id.milestone_retention_account_id
        if not account:
            raise UserError(
                _(
                    "Sales order %(order)s withholds a retention: set the retention "
                    "account of %(company)s in the Project settings.",
                    order=order.name,
                    company=order.company_id.name,
                )
            )
        amount = order.currency_id.round(amount * order.retention_percent / 100.0)
        return {
            "display_type": "product",
            "sequence": milestone_line_values.get("sequence", 10),
            "name": _(
                "Retention %(percent)s%% on %(milestone)s",
                percent=order.retention_percent,
                milestone=self.name,
            ),
            "account_id": account.id,
            "quantity": 1.0,
            "price_unit": -amount,
            "tax_ids": milestone_line_values.get("tax_ids", []),
            "analytic_distribution": milestone_line_values.get("analytic_distribution"),
            "retention_order_id": order.id,
            "retention_milestone_id": self.id,
            "milestone_retention_type": "held",
        }

    def _apply_change_order(self):
        """Bring the invoices of billed milestones to their new amount.

        A draft is updated; posted accounting is never changed: the difference
        is drafted as a supplementary invoice or a credit note, linked to the
        milestone. The chatter keeps the history.
        """
        precision = self.env["decimal.precision"].precision_get(
            "Product Unit of Measure"
        )
        for milestone in self:
            lines = milestone._get_live_invoice_lines()
            invoiced = milestone._get_invoiced_quantity_and_amount()[0]
            difference = milestone._get_billing_quantity() - invoiced
            if float_is_zero(difference, precision_digits=precision):
                continue
            if all(line.parent_state == "draft" for line in lines) and len(lines) == 1:
                lines.move_id.write(
                    {
                        "invoice_line_ids": [
                            Command.update(
                                lines.id, {"quantity": lines.quantity + difference}
                            )
                        ]
                    }
                )
                moves = lines.move_id
            else:
                order = milestone.sale_line_id.order_id
                moves = order.with_context(
                    **{
                        BILLING_CONTEXT_KEY: milestone.ids,
                        ADJUSTMENT_CONTEXT_KEY: {milestone.id: difference},
                    }
                )._create_invoices(grouped=True, final=True)
            milestone.message_post(
                body=_(
                    "Amount changed to %(amount)s after invoicing: %(documents)s "
                    "now bill the difference.",
                    amount=format_amount(
                        self.env, milestone.billing_amount, milestone.currency_id
                    ),
                    documents=Markup(", ").join(
                        move._get_html_link() for move in moves
                    ),
                )
            )

    def _get_down_payment_quantities(self, amounts):
        """{down payment order line id: (quantity, unit price)} to deduct on the
        invoice of ``self``.

        Pro rata (the default), each milestone invoice deducts the share of the
        posted down payments that the amounts billed are of the order, and the
        order's last milestone deducts whatever remains; "native" deducts all.

        :param amounts: {milestone id: untaxed amount billed now}
        """
        quantities = {}
        precision = self.env["decimal.precision"].precision_get(
            "Product Unit of Measure"
        )
        orders = self.sale_line_id.order_id.filtered("order_line.is_downpayment")
        if not orders:
            return quantities
        unbilled_orders = self._get_orders_left_to_bill(
            orders
        ) | self._get_progress_left_after(amounts)
        for order in orders:
            billed = self.filtered(lambda m, o=order: m.sale_line_id.order_id == o)
            share = (
                sum(amounts[milestone.id] for milestone in billed)
                / order.amount_untaxed
                if order.amount_untaxed
                else 1.0
            )
            pro_rata = (
                order.milestone_down_payment_mode == "pro_rata"
                and order in unbilled_orders
            )
            for line in order._get_milestone_down_payment_lines():
                quantities[line.id] = line._get_milestone_deduction(
                    share if pro_rata else None, precision
                )
        return quantities

    def _create_draft_invoices(self, locked=None):
        """Draft one customer invoice per sales order for the milestones in ``self``.

        Goes through ``sale.order._create_invoices`` so the invoiced quantity and
        the invoice status of the order stay right; raises on any failure.

        :param locked: milestones this transaction already locked
        """
        # Once locked, no other transaction can bill them before ours ends;
        # the unique index on live invoice lines backs this up.
        (self - locked if locked else self)._lock_for_billing()
        milestones = self._filter_billable()
        if not milestones:
            return self.env["account.move"]
        milestones._check_billing_rules()
        moves = self.env["account.move"]
        per_customer = milestones.filtered(
            lambda m: (
                m.sale_line_id.company_id.milestone_billing_grouping == "customer_day"
            )
        )
        per_order = milestones - per_customer
        if per_customer:
            appended, per_customer = per_customer._append_to_todays_drafts()
            moves |= appended
        for batch, grouped in ((per_order, True), (per_customer, False)):
            if batch:
                orders = batch.sale_line_id.order_id
                moves |= orders.with_context(
                    **{BILLING_CONTEXT_KEY: batch.ids}
                )._create_invoices(grouped=grouped)
        milestones._clear_billing_failure()
        return moves

    def _get_todays_draft_domain(self, orders):
        today_start = fields.Datetime.to_datetime(fields.Date.context_today(self))
        return [
            ("move_type", "=", "out_invoice"),
            ("state", "=", "draft"),
            ("partner_id", "in", orders.partner_invoice_id.ids),
            ("company_id", "in", orders.company_id.ids),
            ("create_date", ">=", today_start),
            ("invoice_line_ids.milestone_id", "!=", False),
        ]

    def _append_to_todays_drafts(self):
        """Add the milestones to the customer's milestone draft of the day.

        :return: (drafts completed, milestones left for a new draft)
        """
        orders = self.sale_line_id.order_id
        drafts = self.env["account.move"].search(self._get_todays_draft_domain(orders))
        draft_by_key = {
            (move.partner_id, move.company_id, move.currency_id): move
            for move in drafts
        }
        appended = self.env["account.move"]
        left = self.browse()
        for order in orders:
            batch = self.filtered(lambda m, o=order: m.sale_line_id.order_id == o)
            move = draft_by_key.get(
                (order.partner_invoice_id, order.company_id, order.currency_id)
            )
            if not move:
                left |= batch
                continue
            commands = [
                Command.create(
                    line._prepare_invoice_line(sequence=len(move.line_ids) + 1)
                )
                for line in order.order_line & batch.sale_line_id
            ]
            origins = set(filter(None, (move.invoice_origin or "").split(", ")))
            move.write(
                {
                    "invoice_line_ids": batch._split_invoice_line_commands(commands),
                    "invoice_origin": ", ".join(sorted(origins | {order.name})),
                }
            )
            appended |= move
        return appended, left

    def _clear_billing_failure(self):
        # A failure activity exists only while a failure is recorded.
        failed = self.filtered(lambda m: m.billing_pending or m.billing_error)
        if not failed:
            return
        activity_type = self.env.ref(
            "milestone_billing.mail_activity_type_milestone_billing"
        )
        failed.activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type
        ).unlink()
        failed.write({"billing_pending": False, "billing_error": False})

    def _record_billing_failure(self, error):
        """Keep the milestone pending with the reason, and tell billing once."""
        self.ensure_one()
        reason = getattr(error, "args", None) and str(error.args[0]) or repr(error)
        first_failure = not self.billing_pending or not self.billing_error
        self.write({"billing_pending": True, "billing_error": reason})
        activity_type = self.env.ref(
            "milestone_billing.mail_activity_type_milestone_billing"
        )
        if not self.activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type
        ):
            self.activity_schedule(
                activity_type_id=activity_type.id,
                summary=_("Draft invoice could not be created"),
                note=reason,
                user_id=self._get_billing_responsible().id,
            )
        if first_failure:
            self.message_post(
                body=_(
                    "The draft invoice could not be created: %(reason)s\n"
                    "It will be retried automatically.",
                    reason=reason,
                )
            )

    def _get_billing_responsible(self):
        self.ensure_one()
        order = self.sale_line_id.order_id
        return (
            order.company_id.milestone_billing_user_id
            or order.user_id
            or self.project_id.user_id
            or self.env.ref("base.user_admin")
        )

    def _billing_on_unreached(self):
        """Undo the billing of un-reached milestones where accounting allows it.

        Never raises: reopening work must not fail because an invoice cannot
        be changed; AR gets an activity on the invoice instead.
        """
        lines = self.sudo()._get_live_invoice_lines()
        draft_lines = lines.filtered(lambda line: line.parent_state == "draft")
        for move in draft_lines.move_id:
            move_lines = draft_lines.filtered(lambda line, mv=move: line.move_id == mv)
            try:
                with self.env.cr.savepoint():
                    move._remove_milestone_lines(move_lines)
            except Exception as error:  # noqa: BLE001 - reported to AR below
                move._notify_reopened_milestones(
                    move_lines.milestone_id,
                    _(
                        "Milestone %(milestones)s was reopened, but its line could "
                        "not be removed from this draft: %(reason)s",
                        milestones=", ".join(move_lines.milestone_id.mapped("name")),
                        reason=str(error),
                    ),
                )
        posted_lines = lines - draft_lines
        for move in posted_lines.move_id:
            milestones = posted_lines.filtered(
                lambda line, mv=move: line.move_id == mv
            ).milestone_id
            move._notify_reopened_milestones(
                milestones,
                _(
                    "Milestone %(milestones)s was reopened after this invoice was "
                    "posted. The invoice was left untouched: issue a credit note if "
                    "the customer should not pay for it yet.",
                    milestones=", ".join(milestones.mapped("name")),
                ),
            )
        self.sudo()._clear_billing_failure()

    def _check_billing_amount_access(self):
        if self.env.su:
            return
        if not any(self.env.user.has_group(group) for group in BILLING_GROUPS):
            raise AccessError(
                _(
                    "Only sales or accounting users can change or invoice "
                    "milestone amounts."
                )
            )

    def _get_billing_schedule(self):
        """Rows and totals of the printable billing schedule of ``self``.

        Printed by sales and project people for the customer: the invoice
        numbers are read with sudo, only posted ones are shown.
        """
        labels = dict(self._fields["billing_state"]._description_selection(self.env))
        rows = []
        for milestone in self.sudo().sorted(lambda m: (m.deadline or date.max, m.id)):
            posted = milestone._get_live_invoice_lines().move_id.filtered(
                lambda move: move.state == "posted"
            )
            rows.append(
                {
                    "name": milestone.name,
                    "deadline": milestone.deadline,
                    "amount": milestone.billing_amount,
                    "status": labels.get(milestone.billing_state, ""),
                    "invoice": ", ".join(posted.mapped("name")),
                    "paid": milestone.billing_state == "paid",
                    "billed": milestone.billing_state in ("posted", "paid"),
                }
            )
        total = sum(row["amount"] for row in rows)
        billed = sum(row["amount"] for row in rows if row["billed"])
        return {
            "rows": rows,
            "currency": self.sale_line_id.currency_id[:1]
            or self.env.company.currency_id,
            "total": total,
            "billed": billed,
            "remaining": total - billed,
        }

    # ------------------------------------------------------------
    # SCHEDULED JOB
    # ------------------------------------------------------------

    @api.model
    def _cron_process_billing(self, batch_size=CRON_BATCH_SIZE):
        """Finish what could not be done at once: busy syncs and failed drafts."""
        tasks = self.env["project.task"].search(
            [("milestone_sync_pending", "=", True)], limit=batch_size
        )
        if tasks:
            locked = tasks.milestone_id._sync_reached_from_tasks(tasks)
            tasks.filtered(lambda t: t.milestone_id in locked).write(
                {"milestone_sync_pending": False}
            )
        milestones = self.search([("billing_pending", "=", True)], limit=batch_size)
        # The batch first (milestones of one order share a draft), then one
        # savepoint per milestone if any of them fails.
        milestones._bill_or_record_failure()
        if milestones:
            self.env["ir.cron"]._notify_progress(
                done=len(milestones),
                remaining=self.search_count([("billing_pending", "=", True)]),
            )
        if len(tasks) == batch_size or len(milestones) == batch_size:
            self.env.ref("milestone_billing.ir_cron_milestone_billing")._trigger()
