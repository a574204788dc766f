"""careers-assistant: build the index, ask questions. The only place errors become messages."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from pydantic import ValidationError

from .errors import AssistantError
from .settings import Settings, describe_invalid

# Commands that read the web settings (database, rate limits, reload): validated before they start.
WEB_COMMANDS = frozenset({"serve", "unanswered", "purge", "staff"})
# Settings fields a command-line flag can set: a bad one is reported by its flag, not its variable.
_FLAGS = {"corpus_dir": "--corpus", "index_dir": "--index", "fusion": "--fusion", "dense_weight": "--dense-weight"}


def _build(settings: Settings, args: argparse.Namespace) -> int:
    from .embedding import make_embedder
    from .index import build_index

    started = time.perf_counter()
    embedder = make_embedder(settings.embedder)
    print(f"Building the index from {settings.corpus_dir}/ with {embedder.name} ...", file=sys.stderr)
    manifest = build_index(settings, embedder, progress=not args.quiet, full=args.full)
    for skipped in manifest.skipped:
        print(f"Skipped {skipped.reason}", file=sys.stderr)
    print(f"Indexed {manifest.document_count} documents as {manifest.chunk_count} chunks into "
          f"{settings.index_dir}/ in {time.perf_counter() - started:.1f} s "
          f"(encoded {manifest.texts_encoded:,}, reused {manifest.texts_reused:,}).")
    return 0


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from .corpus import decode, parse
    from .generated import index_for
    from .errors import DocumentError
    from .importers import IMPORTERS

    fields = [f.strip() for f in args.fields.split(",") if f.strip()]
    started = time.perf_counter()
    report = IMPORTERS[args.source](Path(args.path), settings.corpus_dir, fields)
    # Every written page is read back through the corpus reader the build uses; one the build would skip
    # (e.g. nothing left after cleaning) is named now.
    problems = []
    for path in report.files:
        try:
            parse(decode(path.read_bytes(), path.name), path)
        except DocumentError as err:
            problems.append(str(err))
    for line in report.skipped + problems:
        print(f"Skipped {line}", file=sys.stderr)
    index = index_for(settings.corpus_dir, settings.index_dir, bool(args.index or os.environ.get("CAREERS_INDEX_DIR")))
    kinds = ", ".join(f"{n:,} {kind}" for kind, n in report.passages.items())
    print(f"Imported {report.written - len(problems):,} {args.source.upper()} occupations ({kinds}) into "
          f"{settings.corpus_dir}/ in {time.perf_counter() - started:.1f} s. "
          f"Run `careers-assistant build --corpus {settings.corpus_dir} --index {index}` "
          f"to index them.")
    return 0 if report.written > len(problems) else 1  # like build: a bad page is named and skipped


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    from .pipeline import Assistant, Conversation
    from .render import as_text

    assistant = Assistant(settings)
    conversation = Conversation(assistant)
    answers = []
    for i, question in enumerate(args.questions):
        answer = conversation.ask(question) if args.conversation else assistant.ask(question)
        answers.append(answer)
        if args.json:
            print(json.dumps(answer.public(), ensure_ascii=False), flush=True)
        else:
            if len(args.questions) > 1:
                print(("\n" if i else "") + f"Q: {answer.question}")
            print(as_text(answer), flush=True)
    if not args.no_record:
        _record_abstentions([(a.question, a.reason, a.occupation, a.facet.value if a.facet else None)
                             for a in answers if a.abstained and not a.error])
    return 0


def _record_abstentions(rows: list[tuple]) -> None:
    """Every abstention is recorded for staff, the CLI's too (channel "cli"); the answer was already
    printed, so a database that cannot be written costs a warning, never the command."""
    if not rows:
        return  # SQLAlchemy and the database are touched only when something was declined
    from sqlalchemy.exc import SQLAlchemyError

    from .web.settings import WebSettings
    from .web.store import record_unanswered

    try:
        record_unanswered(WebSettings(), rows)
    except (ValidationError, SQLAlchemyError, OSError) as err:
        detail = (describe_invalid(err, WebSettings)[0] if isinstance(err, ValidationError)
                  else str(err).splitlines()[0])
        print(f"Warning: the unanswered question was not recorded ({detail}).", file=sys.stderr)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from .web.server import serve  # Chainlit and uvicorn load only for this command

    return serve(settings, host=args.host, port=args.port, web=args.web)


def _unanswered(settings: Settings, args: argparse.Namespace) -> int:
    from .web.store import print_unanswered

    return print_unanswered(settings, limit=args.limit, as_json=args.json, web=args.web)


def _purge(settings: Settings, args: argparse.Namespace) -> int:
    from .web.retention import print_purge

    return print_purge(settings, older_than_days=args.older_than, dry_run=args.dry_run, web=args.web)


def _staff(settings: Settings, args: argparse.Namespace) -> int:
    from .staff.commands import staff_command

    return staff_command(args.web, args.staff_command, getattr(args, "name", None))


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from . import evalreport
    from .evaluate import failures, load_cases, load_thresholds, run_case, summarise, sweep
    from .pipeline import Assistant

    cases = load_cases(Path(args.cases))
    thresholds = load_thresholds(Path(args.thresholds))
    if args.command == "calibrate":
        settings = settings.model_copy(update={"abstain_threshold": 0.0})
        cases = [c for c in cases if c.split == "dev"]
    assistant = Assistant(settings)
    results = [run_case(assistant, c) for c in cases if args.split in ("all", c.split)]
    if args.command == "calibrate":
        print("threshold  coverage  correct  wrong-answer-rate   (dev split, answers kept if confidence >= t)")
        for row in sweep(results, [round(0.05 * i, 2) for i in range(17)]):
            print(f"{row['threshold']:>9.2f}  {row['coverage']:>8.3f}  {row['correct_answers']:>7.3f}  "
                  f"{row['wrong_answer_rate']:>17.3f}")
        return 0
    groups = {"dev": [r for r in results if r.split == "dev"],
              "heldout": [r for r in results if r.split == "heldout"], "all": results}
    summaries = {name: summarise(group) for name, group in groups.items() if group}
    note = (f"fusion={settings.fusion}, dense_weight={settings.dense_weight}, "
            f"abstain_threshold={settings.abstain_threshold}, embedder={assistant.embedder.name}")
    md = evalreport.markdown(summaries, results, thresholds, note)
    json_path, md_path = evalreport.write(Path(args.report_dir), summaries, results, md)
    print(evalreport.console(summaries, results))
    print(f"\nReports: {md_path} and {json_path}")
    gate = failures(summaries["all"] if args.split == "all" else summaries[args.split], thresholds)
    for line in gate:
        print(f"FAIL: {line}", file=sys.stderr)
    return 1 if gate else 0


def _faq_check(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from .faq import check, read_faq
    from .faqreport import report
    from .pipeline import Assistant

    faq = read_faq(Path(args.csv))
    for problem in faq.problems:
        print(f"warning: {problem}", file=sys.stderr)
    assistant = Assistant(settings)
    results = []
    for row in faq.rows:
        result = check(assistant, row)
        results.append(result)
        print(f"{'PASS' if result.passed else 'FAIL'}  {row.id}  {row.question}"
              + ("" if result.passed else f"\n      {result.verdict}: {result.why}"), flush=True)
    passed = sum(r.passed for r in results)
    print(f"\n{passed} of {len(results)} passed.")
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(report(results, faq.problems, Path(args.csv).name), encoding="utf-8")
        print(f"Report: {args.report}")
    return 0 if passed == len(results) and results else 1


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: use a whole number from 1 to 65535")
    return port


def _settings(args: argparse.Namespace) -> tuple[Settings, object]:
    """Settings from flags and the environment, all validated now (raises ValidationError); the web
    settings too for the commands that use them (args.web, None for the others)."""
    given = {field: getattr(args, flag.lstrip("-").replace("-", "_"), None) for field, flag in _FLAGS.items()}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    if args.command not in WEB_COMMANDS:
        return settings, None
    from .web.settings import WebSettings  # imports SQLAlchemy to check the database URL

    return settings, WebSettings()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="careers-assistant",
                                description="Answers careers questions by quoting and citing its source pages.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="clean, chunk and embed corpus/ into index/")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.add_argument("--full", action="store_true", help="re-encode every text instead of reusing the previous index's vectors")
    m = sub.add_parser("import", help="import an occupation taxonomy (ESCO or O*NET) into the corpus folder")
    m.add_argument("source", choices=["esco", "onet"])
    m.add_argument("path", help="ESCO: occupations_en.csv (or its folder); O*NET: the text-database folder")
    m.add_argument("--fields", default="description,tasks,titles",
                   help="what to write besides the description: tasks, titles (default: all)")
    a = sub.add_parser("ask", help="answer one or more questions")
    a.add_argument("--json", action="store_true", help="one JSON object per line per question")
    a.add_argument("--conversation", action="store_true", help="treat the questions as one conversation")
    a.add_argument("questions", nargs="+", metavar="QUESTION")
    a.add_argument("--no-record", action="store_true",
                   help="do not record declined questions for staff (`unanswered`)")
    v = sub.add_parser("serve", help="start the chat UI and the HTTP API")
    v.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    v.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    u = sub.add_parser("unanswered", help="list questions the assistant could not answer")
    u.add_argument("--limit", type=int, default=100)
    u.add_argument("--json", action="store_true")
    r = sub.add_parser("purge", help="delete stored conversations, feedback, unanswered questions and "
                                     "question outcomes older than N days")
    r.add_argument("--older-than", type=float, metavar="DAYS",
                   help="age in days (default 90, or $CAREERS_RETENTION_DAYS)")
    r.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    st = sub.add_parser("staff", help="staff accounts of the /staff console (add, remove, list)")
    st_sub = st.add_subparsers(dest="staff_command", required=True)
    st_add = st_sub.add_parser("add", help="add an account; the password is asked twice (or read from a "
                                          "pipe), never taken from the command line")
    st_add.add_argument("name", help="the name to sign in with, e.g. jo.bloggs")
    st_sub.add_parser("remove", help="remove an account and end its sessions").add_argument("name")
    st_sub.add_parser("list", help="list the accounts")
    e = sub.add_parser("eval", help="run the eval set; exit 1 when a metric misses its threshold")
    c = sub.add_parser("calibrate", help="sweep the abstention threshold over the dev split")
    for s in (e, c):
        s.add_argument("--cases", default="evals/cases.yaml")
        s.add_argument("--thresholds", default="evals/thresholds.yaml")
        s.add_argument("--split", choices=["dev", "heldout", "all"], default="all")
        s.add_argument("--report-dir", default="reports")
        s.add_argument("--fusion", choices=["minmax", "rrf"], help="override the fusion method")
        s.add_argument("--dense-weight", type=float, help="minmax weight of dense vs BM25 (1 = dense only)")
    f = sub.add_parser("faq-check", help="check a CSV of questions and expected answers; write an HTML report")
    f.add_argument("csv", help="CSV with question and expected columns (optional: id, notes, facet)")
    f.add_argument("--report", help="write a self-contained HTML report here")
    for s in (b, a, v, u, e, c, f, m, r):
        s.add_argument("--corpus", help="corpus folder (default: corpus, or $CAREERS_CORPUS_DIR)")
        s.add_argument("--index", help="index folder (default: index, or $CAREERS_INDEX_DIR)")
    return p


COMMANDS = {"import": _import, "build": _build, "ask": _ask, "serve": _serve, "unanswered": _unanswered,
            "eval": _eval, "calibrate": _eval, "faq-check": _faq_check, "purge": _purge,
            "staff": _staff}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings, args.web = _settings(args)
    except ValidationError as err:  # a bad environment variable or flag: one line each, no traceback
        if err.title == Settings.__name__:
            model: type = Settings
            given = {field: flag for field, flag in _FLAGS.items()
                     if getattr(args, flag.lstrip("-").replace("-", "_"), None) is not None}
        else:
            from .web.settings import WebSettings

            model, given = WebSettings, {}
        for line in describe_invalid(err, model, given):
            print(f"careers-assistant: {line}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](settings, args)
    except AssistantError as err:
        print(f"careers-assistant: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("careers-assistant: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `careers-assistant ask ... | head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141
    except Exception as err:
        line = _database_problem(err) if args.web is not None else None
        if line is None:
            raise  # a bug: the traceback is what a developer needs
        print(f"careers-assistant: {line}", file=sys.stderr)
        return 2


def _database_problem(err: Exception) -> str | None:
    """The database of a web command (unanswered, purge) cannot be opened, read or written."""
    from sqlalchemy.exc import SQLAlchemyError

    if not isinstance(err, SQLAlchemyError):
        return None
    from .web.durable import reason

    return (f"The database cannot be used ({reason(err)}): check CAREERS_DATABASE_URL, and that the "
            "database file and its folder can be read and written by this user.")


if __name__ == "__main__":
    sys.exit(main())
