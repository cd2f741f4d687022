"""The run timeline: spans in tree order, selection by click and keys, live updates, zoom."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QHelpEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolTip

from keiko_desktop.core.agents.records import Span
from keiko_desktop.ui.theme import DARK, LIGHT
from keiko_desktop.ui.widgets.run_timeline import RunTimeline
from keiko_desktop.ui.widgets.span_detail import SpanDetail
from keiko_desktop.ui.widgets.span_rows import SpanRows
from keiko_desktop.ui.widgets.timeline_style import LABEL_WIDTH, format_seconds, tick_step

T0 = 1_700_000_000.0


def span(
    key: str, parent: str | None, start: float, duration: float | None = 1.0, **kw: Any
) -> Span:
    kind = kw.pop("kind", "step")
    status = kw.pop("status", "running" if duration is None else "ok")
    return Span(
        1, key, kind, kw.pop("name", f"span {key}"), T0 + start, duration, status, parent, **kw
    )


def plan_run() -> list[Span]:
    """A plan with two steps; the spans arrive out of tree order, as concurrent steps send them."""
    return [
        span("1", None, 0.0, 10.0, kind="run", name="run"),
        span("2", "1", 0.1, 9.0, kind="plan", name="plan"),
        span("3", "2", 0.2, 4.0, name="s1"),
        span("5", "2", 4.5, 5.0, name="s2"),
        span("4", "3", 0.3, 2.0, kind="model", name="s1 model", prompt_tokens=30),
        span("7", "5", 4.6, None, kind="tool", name="s2 tool"),
        span("6", "3", 2.4, 1.0, kind="tool", name="s1 tool", status="error"),
    ]


@pytest.fixture
def timeline(qtbot: Any) -> RunTimeline:
    view = RunTimeline(LIGHT)
    qtbot.addWidget(view)
    view.resize(800, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def names(view: RunTimeline) -> list[str]:
    return [s.name for s in view.spans()]


def click_row(view: RunTimeline, key: str) -> None:
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.row_rect(key).center())


def test_spans_appear_in_tree_order_with_children_indented(timeline: RunTimeline) -> None:
    timeline.set_spans(plan_run())
    assert names(timeline) == ["run", "plan", "s1", "s1 model", "s1 tool", "s2", "s2 tool"]
    assert [timeline.depth_of(s.key) for s in timeline.spans()] == [0, 1, 2, 3, 3, 2, 3]
    description = timeline.accessibleDescription()
    assert timeline.accessibleName() == "Run timeline"
    assert description.startswith("7 spans: 1 run, 1 plan, 2 steps, 1 model call, 2 tool calls.")
    assert "1 failed" in description
    assert "1 running" in description


def test_a_child_that_arrives_before_its_parent_moves_under_it(timeline: RunTimeline) -> None:
    spans = plan_run()
    timeline.add_spans([s for s in spans if s.key != "3"])
    assert timeline.depth_of("4") == 0  # its parent is unknown yet: shown as a root
    timeline.add_spans([s for s in spans if s.key == "3"])
    assert names(timeline) == ["run", "plan", "s1", "s1 model", "s1 tool", "s2", "s2 tool"]


def test_incremental_layout_matches_a_full_layout() -> None:
    rnd = random.Random(7)
    spans = [span("1", None, 0.0, 100.0)]
    for i in range(2, 400):
        spans.append(span(str(i), str(rnd.randint(max(1, i - 40), i - 1)), rnd.random() * 90))
    batched = SpanRows()
    for start in range(0, len(spans), 5):
        batched.update(spans[start : start + 5])
    whole = SpanRows()
    whole.update(spans)  # one big batch: laid out from scratch
    assert batched.keys() == whole.keys()
    assert [batched.depth_at(i) for i in range(len(batched))] == [
        whole.depth_at(i) for i in range(len(whole))
    ]


def test_a_cycle_of_parents_still_shows_every_span(timeline: RunTimeline) -> None:
    timeline.set_spans([span("1", "2", 0.0), span("2", "1", 1.0), span("3", None, 2.0)])
    assert sorted(names(timeline)) == ["span 1", "span 2", "span 3"]


def test_a_click_selects_the_span_under_it(timeline: RunTimeline, qtbot: Any) -> None:
    timeline.set_spans(plan_run())
    with qtbot.waitSignal(timeline.span_selected, timeout=1000) as blocker:
        click_row(timeline, "6")
    assert blocker.args[0].name == "s1 tool"
    assert blocker.args[0].status == "error"
    assert timeline.selected_span is not None
    assert timeline.selected_span.key == "6"
    assert timeline.hasFocus()
    assert "Selected: s1 tool, tool call, error" in timeline.accessibleDescription()


def test_keys_move_the_selection_and_the_view_follows(timeline: RunTimeline, qtbot: Any) -> None:
    spans = [span("1", None, 0.0, 100.0, kind="run")]
    spans += [span(str(i), "1", i * 0.5, 0.4, kind="model") for i in range(2, 60)]
    timeline.set_spans(spans)
    timeline.setFocus()
    with qtbot.waitSignal(timeline.span_selected, timeout=1000) as blocker:
        QTest.keyClick(timeline, Qt.Key.Key_Down)  # nothing selected: the first row
    assert blocker.args[0].key == "1"
    with qtbot.waitSignal(timeline.span_selected, timeout=1000) as blocker:
        QTest.keyClick(timeline, Qt.Key.Key_Down)
    assert blocker.args[0].key == "2"
    with qtbot.waitSignal(timeline.span_selected, timeout=1000) as blocker:
        QTest.keyClick(timeline, Qt.Key.Key_End)
    assert blocker.args[0].key == "59"
    rect = timeline.row_rect("59")
    assert timeline.viewport().rect().contains(rect)  # scrolled to it
    assert timeline.verticalScrollBar().value() > 0
    with qtbot.waitSignal(timeline.span_selected, timeout=1000) as blocker:
        QTest.keyClick(timeline, Qt.Key.Key_Up)
    assert blocker.args[0].key == "58"
    with qtbot.waitSignal(timeline.span_selected, timeout=1000) as blocker:
        QTest.keyClick(timeline, Qt.Key.Key_Home)
    assert blocker.args[0].key == "1"
    assert timeline.verticalScrollBar().value() == 0
    with qtbot.assertNotEmitted(timeline.span_selected):
        QTest.keyClick(timeline, Qt.Key.Key_Up)  # already at the top


def test_add_spans_updates_a_running_span(timeline: RunTimeline, qtbot: Any) -> None:
    spans = plan_run()
    timeline.set_spans(spans)
    timeline.select_key("7")
    running = timeline.selected_span
    assert running is not None
    assert running.duration is None
    width_before = timeline.row_count()
    done = replace(running, duration=2.5, status="ok", completion_tokens=12)
    with qtbot.waitSignal(timeline.selected_span_updated, timeout=1000) as blocker:
        timeline.add_spans([done, span("8", "5", 7.5, 0.5, kind="model", name="s2 answer")])
    assert blocker.args[0].duration == 2.5
    assert timeline.row_count() == width_before + 1
    assert timeline.selected_span == done
    assert names(timeline)[-2:] == ["s2 tool", "s2 answer"]
    assert "running" not in timeline.accessibleDescription()


def test_zoom_changes_the_scale_and_fit_restores_it(timeline: RunTimeline, qtbot: Any) -> None:
    timeline.set_spans(plan_run())
    fit = timeline.scale
    # the whole run fits the timeline's width
    assert fit * 10.0 <= timeline.viewport().width() - LABEL_WIDTH
    timeline.setFocus()
    with qtbot.waitSignal(timeline.zoom_changed, timeout=1000):
        QTest.keyClick(timeline, Qt.Key.Key_Plus)
    assert timeline.scale == pytest.approx(fit * 1.25)
    QTest.keyClick(timeline, Qt.Key.Key_Plus)
    assert timeline.horizontalScrollBar().maximum() > 0  # wider than the view now
    QTest.keyClick(timeline, Qt.Key.Key_Minus)
    assert timeline.scale == pytest.approx(fit * 1.25)
    QTest.keyClick(timeline, Qt.Key.Key_0)
    assert timeline.scale == pytest.approx(fit)
    QTest.keyClick(timeline, Qt.Key.Key_Minus)
    assert timeline.scale == pytest.approx(fit)  # never smaller than the whole run

    wheel = QWheelEvent(
        QPointF(LABEL_WIDTH + 100, 100),
        QPointF(timeline.viewport().mapToGlobal(QPoint(LABEL_WIDTH + 100, 100))),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(timeline.viewport(), wheel)
    assert timeline.scale == pytest.approx(fit * 1.25**2)


def test_zoom_by_keeps_the_moment_under_the_pointer(timeline: RunTimeline) -> None:
    timeline.set_spans(plan_run())
    anchor = 300
    moment = T0 + (timeline.horizontalScrollBar().value() + anchor - 14) / timeline.scale
    timeline.zoom_by(4.0, anchor)
    assert timeline.x_of(moment) == pytest.approx(LABEL_WIDTH + anchor, abs=1.5)


def test_it_paints_in_both_themes_without_warnings(timeline: RunTimeline) -> None:
    timeline.set_spans(plan_run())
    timeline.select_key("6")
    for theme in (LIGHT, DARK):
        timeline.set_theme(theme)
        image = timeline.grab().toImage()
        assert image.pixelColor(5, 100).name() in (theme.window, theme.selected)
    timeline.clear()
    assert timeline.row_count() == 0
    assert timeline.accessibleDescription() == "No spans."
    timeline.grab()


def test_live_running_spans_reach_to_now_and_their_stripes_move(
    timeline: RunTimeline, qtbot: Any
) -> None:
    timeline.set_spans([span("1", None, 0.0, None, kind="run")])
    assert timeline.time_end() == T0  # not live: the latest time known
    timeline.set_live(True)
    assert timeline.time_end() > T0 + 1000
    offset = timeline.stripe_offset
    qtbot.waitUntil(lambda: timeline.stripe_offset != offset, timeout=2000)
    timeline.set_live(False)
    offset = timeline.stripe_offset
    QTest.qWait(300)
    assert timeline.stripe_offset == offset  # still once the run is no longer live


def test_the_tooltip_names_the_span_escaped(timeline: RunTimeline) -> None:
    timeline.set_spans([span("1", None, 0.0, 2.0, kind="tool", name="<img src=x>\u202e")])
    point = timeline.row_rect("1").center()
    event = QHelpEvent(QEvent.Type.ToolTip, point, timeline.viewport().mapToGlobal(point))
    QApplication.sendEvent(timeline.viewport(), event)
    shown = QToolTip.text()
    QToolTip.hideText()
    assert "&lt;img src=x&gt;\\u202e" in shown
    assert "tool call, ok, at +0 s, took 2.00 s." in shown


def test_span_detail_shows_untrusted_text_escaped(qtbot: Any) -> None:
    detail = SpanDetail()
    qtbot.addWidget(detail)
    assert detail.stack.currentWidget() is detail.placeholder
    hostile = span(
        "9",
        None,
        1.5,
        0.25,
        kind="tool",
        name="<b>web.search</b>\x1b[2J",
        detail="result \u202eevil\x07",
        prompt_tokens=3,
        completion_tokens=4,
    )
    detail.set_span(hostile, run_start=T0)
    assert detail.title.text() == "<b>web.search</b>\\x1b[2J"
    assert detail.title.textFormat() == Qt.TextFormat.PlainText
    assert detail.detail.toPlainText() == "result \\u202eevil\\x07"
    assert detail.kind.text() == "Tool call"
    assert detail.duration.text() == "250 ms"
    assert detail.started.text().endswith("(+1.50 s)")
    assert detail.tokens.text() == "3 in · 4 out · 7 total"
    detail.set_span(None)
    assert detail.stack.currentWidget() is detail.placeholder


def test_axis_steps_and_labels() -> None:
    assert tick_step(100.0) == 1.0  # 100 px a second: a label every second
    assert tick_step(1000.0) == 0.1
    assert tick_step(10.0) == 10.0
    assert format_seconds(0.25) == "250 ms"
    assert format_seconds(6.4) == "6.40 s"
    assert format_seconds(125) == "2:05"
    assert format_seconds(1.5, 0.5) == "1.5 s"
    assert format_seconds(0.2, 0.1) == "200 ms"
