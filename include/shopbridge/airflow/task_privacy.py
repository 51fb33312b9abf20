"""Keeping customers' data out of what Airflow stores about a run.

``@private_task`` is Airflow's ``@task`` without the two copies it keeps of a task's data,
and :func:`drop_run_xcoms` removes the third (XCom) once the run has reported.

A flow's batches carry customers' names, e-mails, addresses and phone numbers between
tasks. Plain ``@task`` (the standard provider's ``_PythonDecoratedOperator``) copies them
to two places that outlive the run:

* the task log: ``PythonOperator`` logs ``Done. Returned value was: <the whole batch>``
  unless ``show_return_value_in_logs=False``;
* the metadata DB's ``rendered_task_instance_fields``: the Task SDK sends every template
  field right after rendering it (``task_runner._prepare`` →
  ``_serialize_rendered_fields``), and a decorated task's template fields are
  ``op_args``/``op_kwargs``, i.e. the mapped batch itself. Airflow 3.3 has no setting that
  turns this off (``[core] max_templated_field_length`` only truncates).

This operator renders its arguments as ``@task`` does (upstream XComs resolved, Jinja
rendered, dependencies wired from the same template fields), then sets the values aside
and leaves a placeholder in each argument until ``execute`` puts them back: what Airflow
records, and the UI's "Rendered Template" tab shows, is ``(not recorded)``.

XCom is the third copy: the ``report`` task deletes its run's intermediate XComs with
:func:`drop_run_xcoms`, and the maintenance DAG (``shopbridge.airflow.retention``) those of runs
that failed before reporting.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, overload

import jinja2
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import Context
from airflow.sdk.bases.decorator import (
    DecoratedOperator,
    FParams,
    FReturn,
    Task,
    TaskDecorator,
    task_decorator_factory,
)

#: what Airflow records in place of each argument
PLACEHOLDER = "(not recorded)"


class PrivatePythonOperator(DecoratedOperator, PythonOperator):
    """A ``@task`` whose arguments and return value are neither logged nor recorded."""

    custom_operator_name: str = "@private_task"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None,
        op_kwargs: Mapping[str, Any] | None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("show_return_value_in_logs", False)
        super().__init__(
            kwargs_to_upstream={
                "python_callable": python_callable,
                "op_args": op_args,
                "op_kwargs": op_kwargs,
            },
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            **kwargs,
        )
        self._rendered_args: tuple[Collection[Any], Mapping[str, Any]] | None = None

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Iterable[str],
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Render as Airflow does, then hide the arguments from the rendered-fields record.

        Overridden here rather than in ``render_template_fields``: a mapped task is rendered
        by ``MappedOperator``, which calls this method of the unmapped task.
        """
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
        if parent is self:
            self._rendered_args = (self.op_args, self.op_kwargs)
            self.op_args = [PLACEHOLDER for _ in self.op_args]
            self.op_kwargs = dict.fromkeys(self.op_kwargs, PLACEHOLDER)

    def execute(self, context: Context) -> Any:
        if self._rendered_args is not None:
            self.op_args, self.op_kwargs = self._rendered_args
            self._rendered_args = None
        return super().execute(context)


@overload
def private_task(python_callable: Callable[FParams, FReturn]) -> Task[FParams, FReturn]: ...


@overload
def private_task(*, multiple_outputs: bool | None = None, **kwargs: Any) -> TaskDecorator: ...


def private_task(
    python_callable: Callable[..., Any] | None = None, **kwargs: Any
) -> Task[Any, Any] | TaskDecorator:
    """Use like ``@task`` / ``@task(...)``; every keyword goes to the operator.

    ``multiple_outputs`` is off unless asked for: ``@task`` turns it on for a function
    annotated to return a dict, which stores every key as an XCom of its own *besides*
    ``return_value`` (each batch twice, in keys :func:`drop_run_xcoms` cannot know).
    """
    kwargs.setdefault("multiple_outputs", False)
    return task_decorator_factory(
        python_callable=python_callable, decorated_operator_class=PrivatePythonOperator, **kwargs
    )


def drop_run_xcoms(
    context: Context, *, single: Mapping[str, Sequence[str]], mapped: Sequence[str], batches: int
) -> int:
    """Delete this run's XComs of ``single`` (task id -> keys) and of each of ``mapped``'s
    ``batches`` map indexes; return how many were asked to go.

    Through the Task SDK (a worker has no metadata-DB access; the Execution API lets a task
    delete any XCom of its own deployment, outside multi-team mode). A custom XCom backend
    goes through its ``XCom.delete``, which purges its stored object too; the default one
    is sent the delete message alone, because ``XCom.delete`` first *downloads* the value
    to hand it to ``purge`` (a no-op there): 80 batches of up to 600 kB each, for nothing
    (``./run bench e2e`` measured 6 s of a 2,000-order report doing that).
    """
    from airflow.sdk.bases.xcom import BaseXCom
    from airflow.sdk.execution_time.comms import DeleteXCom
    from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS
    from airflow.sdk.execution_time.xcom import XCom

    ti = context["ti"]
    where = {"dag_id": ti.dag_id, "run_id": ti.run_id}
    # the default backend's purge is a no-op; a custom backend overrides it
    plain = XCom.purge.__qualname__ == BaseXCom.purge.__qualname__
    targets: list[tuple[str, str, int | None]] = [
        (task_id, key, None) for task_id, keys in single.items() for key in keys
    ]
    targets += [(task_id, "return_value", index) for task_id in mapped for index in range(batches)]
    for task_id, key, index in targets:
        if plain:
            SUPERVISOR_COMMS.send(DeleteXCom(key=key, task_id=task_id, map_index=index, **where))
        else:
            XCom.delete(key=key, task_id=task_id, map_index=index, **where)
    return len(targets)
