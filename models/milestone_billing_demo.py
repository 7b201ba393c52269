from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.tools import SQL

# (customer, engagement, amount, milestone shares, days since start)
ENGAGEMENTS = [
    ("Northwind Logistics", "Supply chain strategy", 100000, (0.30, 0.35, 0.35), 170),
    ("Blue Harbor Bank", "Risk model review", 60000, (0.40, 0.30, 0.30), 160),
    ("Cedar Health", "Clinic network redesign", 85000, (0.25, 0.25, 0.50), 150),
    ("Atlas Energy", "Grid analytics platform", 120000, (0.20, 0.30, 0.50), 140),
    ("Orchid Retail", "Store format study", 45000, (0.50, 0.50), 130),
    ("Summit Insurance", "Claims process audit", 70000, (0.30, 0.35, 0.35), 120),
    ("Vega Telecom", "Network capex plan", 95000, (0.25, 0.25, 0.25, 0.25), 110),
    ("Kestrel Foods", "Pricing strategy", 50000, (0.40, 0.30, 0.30), 95),
    ("Granite Construction", "PMO setup", 65000, (0.30, 0.35, 0.35), 80),
    ("Lumen Software", "Go-to-market review", 40000, (0.50, 0.25, 0.25), 70),
    ("Harbor City Council", "Digital services roadmap", 110000, (0.20, 0.40, 0.40), 60),
    ("Maple Pharma", "R&D portfolio review", 90000, (0.30, 0.35, 0.35), 45),
    ("Polar Airlines", "Fleet plan", 150000, (0.25, 0.25, 0.25, 0.25), 35),
    ("Sierra Mining", "Safety culture program", 55000, (0.30, 0.30, 0.40), 20),
    ("Iris Media", "Subscription strategy", 35000, (0.50, 0.50), 10),
]


class MilestoneBillingDemo(models.AbstractModel):
    _name = "milestone.billing.demo"
    _description = "Milestone Billing Demo Data"

    @api.model
    def _load_demo(self, stages=None, product=None, today=None):
        """A consulting firm's engagements, billed over the past months.

        Milestones are finished, drafted, posted and paid at past dates through
        the module's own flow, so every worklist and report tells a story.
        """
        today = today or fields.Date.context_today(self)
        env = self.env
        stage_progress, stage_done = stages or (
            env.ref("milestone_billing.demo_stage_in_progress"),
            env.ref("milestone_billing.demo_stage_done"),
        )
        product = product or env.ref("milestone_billing.demo_product_engagement")
        managers = env.ref("base.user_admin") | (
            env.ref("base.user_demo", raise_if_not_found=False) or env["res.users"]
        )
        projects = {}
        for index, (customer, name, amount, shares, age) in enumerate(ENGAGEMENTS):
            start = today - timedelta(days=age)
            partner = env["res.partner"].create({"name": customer, "is_company": True})
            order = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "client_order_ref": name,
                    "date_order": start,
                    "user_id": managers[index % len(managers)].id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "name": name,
                                "price_unit": amount,
                            }
                        )
                    ],
                }
            )
            order.action_confirm()
            project = env["project.project"].create(
                {
                    "name": f"{customer}: {name}",
                    "partner_id": partner.id,
                    "user_id": managers[index % len(managers)].id,
                    "allow_milestones": True,
                    "allow_billable": True,
                    "sale_line_id": order.order_line.id,
                    "type_ids": [Command.set((stage_progress | stage_done).ids)],
                }
            )
            projects[customer] = project
            step = max(age // len(shares), 5)
            for number, share in enumerate(shares, start=1):
                deadline = start + timedelta(days=step * number)
                milestone = env["project.milestone"].create(
                    {
                        "name": f"Phase {number}",
                        "project_id": project.id,
                        "sale_line_id": order.order_line.id,
                        "quantity_percentage": share,
                        "deadline": deadline,
                    }
                )
                task = env["project.task"].create(
                    {
                        "name": f"Phase {number} deliverables",
                        "project_id": project.id,
                        "milestone_id": milestone.id,
                        "stage_id": stage_progress.id,
                        "user_ids": [Command.set(managers[index % len(managers)].ids)],
                    }
                )
                reached = deadline + timedelta(days=(index + number) % 7 - 2)
                if reached < today - timedelta(days=2):
                    seed = (index * 3 + number) % 10
                    self._play_milestone(
                        milestone, task, stage_done, reached, today, seed
                    )

        self._load_demo_structures(projects, stage_done, today)

    @api.model
    def _load_demo_structures(self, projects, stage_done, today):
        """A milestone waiting for its client's acceptance, one billed by progress."""
        awaited = projects["Iris Media"].milestone_ids.filtered(
            lambda m: m.name == "Phase 2"
        )
        awaited.write(
            {
                "requires_acceptance": True,
                "deliverable_summary": "<p>Subscription pricing model and launch "
                "plan, with the churn analysis.</p>",
            }
        )
        awaited.task_ids.write({"stage_id": stage_done.id})
        awaited.task_ids._sync_milestone_reached()
        self.env.cr.flush()
        awaited._request_client_acceptance()

        progress = projects["Sierra Mining"].milestone_ids.filtered(
            lambda m: m.name == "Phase 3"
        )
        progress.write({"progress_billing": True, "progress_percent": 40.0})
        self.env["project.milestone"]._cron_bill_progress(today=today)
        progress.progress_percent = 65.0

    @api.model
    def _play_milestone(self, milestone, task, stage_done, reached, today, seed):
        """Finish the work on ``reached``, then bill, post and get paid later.

        :param seed: 0 to 9, picks what happened to this milestone
        """
        # Demo data loads while the module installs, before the automation rules
        # hook into the models: their methods are called as the rules would.
        task.write({"stage_id": stage_done.id})
        task._sync_milestone_reached()
        self.env.cr.flush()
        milestone._auto_create_draft_invoices()
        self.env.cr.flush()
        if not milestone.is_reached:
            return
        if seed == 0:
            # AR cancelled the draft, waiting for the customer's PO number.
            milestone.sudo()._get_live_invoice_lines().move_id.button_cancel()
        self._backdate(milestone, "project_milestone", "reached_date", reached)
        invoice = milestone.sudo()._get_live_invoice_lines().move_id
        if not invoice:
            return
        drafted = reached + timedelta(days=seed % 3)
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET create_date = %s WHERE id = %s",
                fields.Datetime.to_datetime(drafted),
                invoice.id,
            )
        )
        posted = drafted + timedelta(days=2 + seed % 5)
        if seed in (3, 7) or posted >= today:
            return  # still waiting for AR
        invoice.invoice_date = posted
        invoice.action_post()
        paid = posted + timedelta(days=15 + 3 * seed)
        if paid < today and seed != 5:
            self.env["account.payment.register"].with_context(
                active_model="account.move", active_ids=invoice.ids
            ).create({"payment_date": paid})._create_payments()
        invoice.invalidate_recordset()

    @api.model
    def _backdate(self, record, table, column, value):
        record.flush_recordset()
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET %s = %s WHERE id = %s",
                SQL.identifier(table),
                SQL.identifier(column),
                value,
                record.id,
            )
        )
        record.invalidate_recordset([column])
