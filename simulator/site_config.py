"""A simulated site's own configuration files: its call topics (taxonomy) and its callqa settings.

The demo desk uses the shipped defaults; any other site writes what a real site would: a topics file with
its purposes and knowledge articles, and a `callqa.toml` naming its PBX's time zone, the stereo channel
its operators are recorded on, and its profile and topics files (paths relative to the site folder).
"""

from __future__ import annotations

from pathlib import Path

from simulator.site import Site

# The situations of the registration manual every desk has, whatever its business.
SITUATIONS = (
    ("sales_question", {"title": "Вопрос в другой отдел", "registration": "none",
                        "description": "вопрос для другого отдела; переводится по короткому номеру"}),
    ("specific_employee", {"title": "Просьба соединить с сотрудником", "registration": "none",
                           "description": "звонящий просит конкретного сотрудника; переводится"}),
    ("wrong_number", {"title": "Ошиблись номером", "registration": "special",
                      "description": "звонок не по адресу"}),
    ("partner_client", {"title": "Клиент партнёра", "registration": "special", "caller_type": "partner",
                        "description": "клиент партнёра, которого должен обслуживать партнёр"}),
    ("no_internal_line", {"title": "Услуга без своей линии", "registration": "special",
                          "description": "вопрос по услуге, у которой нет своей линии поддержки"}),
    ("service_centre_employee", {"title": "Сотрудник подрядчика по своей работе", "registration": "special",
                                 "caller_type": "employee",
                                 "description": "сотрудник подрядчика или сервисного центра по работе"}),
    ("internal_question", {"title": "Внутренний вопрос", "registration": "none", "caller_type": "employee",
                           "description": "коллега с внутреннего номера"}),
    ("dropped_no_info", {"title": "Обрыв без информации", "registration": "none", "dropped": True,
                         "description": "звонок прервался до того, как звонящий что-то сообщил"}),
    ("dropped_with_info", {"title": "Обрыв после вопроса", "dropped": True,
                           "description": "звонок прервался после того, как звонящий изложил вопрос"}),
)  # fmt: skip


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"'


def write_taxonomy(path: Path, site: Site) -> None:
    """The site's topics YAML (`[analytics] taxonomy`): its own purposes, then the manual's situations."""
    lines = [
        f"# Call purposes of {site.company}'s support desk (format: classifiers/defaults/topics.yaml).",
        "version: 1",
        f'special_article: "{site.special_article}"',
        "topics:",
    ]
    for topic in site.topics:
        lines += [f"  {topic.label}:", f'    article: "{topic.article}"', f"    title: {topic.title}",
                  "    examples: []"]  # fmt: skip
    for label, body in SITUATIONS:
        lines.append(f"  {label}:")
        lines += [f"    {key}: {_value(value)}" for key, value in body.items()]
        lines.append("    examples: []")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_site_config(path: Path, site: Site, operator_left: bool) -> None:
    """The site's callqa settings: run `callqa --config callqa.toml …` from the site folder."""
    path.write_text(
        f"# {site.company}: callqa settings for this site (paths are relative to this folder).\n"
        f'pbx_timezone = "{site.pbx.timezone}"\n'
        f'operator_channel = "{"left" if operator_left else "right"}"\n\n'
        "[analytics]\n"
        'profile = "profile.yaml"\n'
        'taxonomy = "topics.yaml"\n',
        encoding="utf-8",
    )
