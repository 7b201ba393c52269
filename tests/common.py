from odoo import Command
from odoo.tests import new_test_user

from odoo.addons.sale_project.tests.common import TestSaleProjectCommon


class MilestoneBillingCommon(TestSaleProjectCommon):
    """A $100,000 engagement billed 30/35/35, one task per milestone."""

    @classmethod
    def default_env_context(cls):
        # billing_state is tracked in the chatter, which the tests check.
        return {"no_reset_password": True, "mail_create_nosubscribe": True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stage_progress, cls.stage_done = cls.env["project.task.type"].create(
            [
                {"name": "In Progress", "sequence": 1},
                {"name": "Done", "sequence": 10, "fold": True, "is_done_stage": True},
            ]
        )
        cls.tax_15 = cls.company_data["default_tax_sale"]
        cls.engagement = cls._create_engagement()
        cls.order = cls.engagement["order"]
        cls.line = cls.engagement["line"]
        cls.project = cls.engagement["project"]
        cls.phase1, cls.phase2, cls.phase3 = cls.engagement["milestones"]
        cls.task1, cls.task2, cls.task3 = cls.engagement["tasks"]

    @classmethod
    def _create_engagement(
        cls, shares=(0.30, 0.35, 0.35), amount=100000.0, partner=None, name="Strategy"
    ):
        partner = partner or cls.partner_a
        order = cls.env["sale.order"].create(
            {
                "partner_id": partner.id,
                "payment_term_id": cls.env.ref(
                    "account.account_payment_term_30days"
                ).id,
                "fiscal_position_id": cls.fiscal_pos_a.id,
                "client_order_ref": f"{name} engagement",
                "order_line": [
                    Command.create(
                        {
                            "product_id": cls.product_milestone.id,
                            "name": f"{name} engagement",
                            "product_uom_qty": 1,
                            "price_unit": amount,
                            "tax_id": [Command.set(cls.tax_15.ids)],
                            "analytic_distribution": {
                                cls.analytic_account_sale.id: 100
                            },
                        }
                    ),
                    Command.create(
                        {
                            "product_id": cls.product_delivery_manual1.id,
                            "product_uom_qty": 10,
                            "price_unit": 150,
                        }
                    ),
                ],
            }
        )
        order.action_confirm()
        line = order.order_line[0]
        # Travel is delivered too: billing a milestone must not sweep it in.
        order.order_line[1].qty_delivered = 10
        project = cls.env["project.project"].create(
            {
                "name": f"{name} project",
                "partner_id": partner.id,
                "allow_billable": True,
                "allow_milestones": True,
                "sale_line_id": line.id,
                "type_ids": [Command.set((cls.stage_progress | cls.stage_done).ids)],
            }
        )
        milestones = cls.env["project.milestone"].create(
            [
                {
                    "name": f"{name} phase {index}",
                    "project_id": project.id,
                    "sale_line_id": line.id,
                    "quantity_percentage": share,
                }
                for index, share in enumerate(shares, start=1)
            ]
        )
        tasks = cls.env["project.task"].create(
            [
                {
                    "name": f"Deliver {milestone.name}",
                    "project_id": project.id,
                    "milestone_id": milestone.id,
                    "stage_id": cls.stage_progress.id,
                }
                for milestone in milestones
            ]
        )
        return {
            "order": order,
            "line": line,
            "project": project,
            "milestones": milestones,
            "tasks": tasks,
        }

    @classmethod
    def _new_project_manager(cls, login):
        """A project manager without sales or accounting rights."""
        return new_test_user(
            cls.env,
            login=login,
            groups="project.group_project_manager,project.group_project_milestone",
        )

    def end_transaction(self):
        """Run what the end of a request runs: the precommit work of the transaction."""
        self.env.cr.flush()

    def finish(self, tasks):
        """Drag the tasks to the Done column, the way a Kanban drop arrives."""
        tasks.write({"stage_id": self.stage_done.id})
        self.end_transaction()

    def reopen(self, tasks):
        tasks.write({"stage_id": self.stage_progress.id})
        self.end_transaction()

    def pay(self, invoice):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=invoice.ids
        ).create({})._create_payments()

    def deactivate_rule(self, xmlid):
        """Switch an automation rule off for this test only.

        Rules patch the models in memory: switching one back on before the
        test's rollback keeps the next tests running with the shipped rules.
        """
        rule = self.env.ref(xmlid)
        rule.active = False
        self.addCleanup(rule.write, {"active": True})
        return rule


class BillingStructureHelpers:
    """Advances and retention on the engagement of MilestoneBillingCommon."""

    @classmethod
    def _set_up_retention(cls, percent):
        cls.retention_account = cls.env["account.account"].create(
            {
                "name": "Retention receivable",
                "code": "RETAIN1",
                "account_type": "asset_current",
            }
        )
        cls.env.company.milestone_retention_account_id = cls.retention_account
        cls.order.retention_percent = percent

    def _post_down_payment(self, percent):
        wizard = (
            self.env["sale.advance.payment.inv"]
            .with_context(active_model="sale.order", active_ids=self.order.ids)
            .create({"advance_payment_method": "percentage", "amount": percent})
        )
        wizard.create_invoices()
        down_payment = self.order.invoice_ids.filtered(lambda m: m.state == "draft")
        down_payment.action_post()
        return down_payment

    def _deduction(self, invoice):
        return -sum(
            invoice.invoice_line_ids.filtered("is_downpayment").mapped("price_subtotal")
        )

    def _retention(self, invoice):
        return -sum(
            invoice.invoice_line_ids.filtered(
                lambda line: line.milestone_retention_type == "held"
            ).mapped("price_subtotal")
        )
