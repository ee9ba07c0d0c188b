"""Call-record, queue_log and incident importers: exact fields, and malformed rows reported by line."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from ingest import (
    InputFileError,
    load_mapping,
    parse_recording_name,
    read_incidents,
    read_mapped_csv,
    read_master_csv,
    read_queue_log,
)
from ingest.queue_log import agent_code

MASTER = (
    '"","79161234567","8800","from-trunk","""Иванов"" <79161234567>","SIP/trunk-00000012",'
    '"SIP/101-00000013",'
    '"Queue","support","2026-03-02 09:00:00","2026-03-02 09:00:04","2026-03-02 09:01:10",'
    '"70","66","ANSWERED",'
    '"DOCUMENTATION","1772442000.12",""\n'
    '"","1234","8800","from-internal","","SIP/1234-00000014","","Queue","support","2026-03-02 09:05:00","",'
    '"2026-03-02 09:05:30","30","0","NO ANSWER","DOCUMENTATION","1772442300.13",""\n'
    '"only","three","columns"\n'
    '"","79161234567","8800","from-trunk","","SIP/trunk-1","SIP/101-1","Queue","support","yesterday","",'
    '"2026-03-02 09:05:30","30","0","NO ANSWER","DOCUMENTATION","1772442300.14",""\n'
)


def test_master_csv_fields_and_bad_rows(tmp_path):
    path = tmp_path / "Master.csv"
    path.write_text(MASTER, encoding="utf-8")
    result = read_master_csv(path)
    assert [r.uniqueid for r in result.rows] == ["1772442000.12", "1772442300.13"]
    first = result.rows[0]
    assert first.src == "79161234567" and first.dst == "8800"
    assert first.clid == '"Иванов" <79161234567>'
    assert first.start == datetime(2026, 3, 2, 9, 0, 0)
    assert first.answer == datetime(2026, 3, 2, 9, 0, 4)
    assert first.billsec == 66 and first.duration == 70
    assert first.disposition == "ANSWERED"
    assert result.rows[1].answer is None
    assert [(p.line, p.code) for p in result.problems] == [(3, "malformed_row"), (4, "malformed_row")]
    assert "yesterday" in result.problems[1].message and result.problems[1].message.startswith("start: ")
    # A typed-in letter O for a zero: the message names the column and the value.
    path.write_text(MASTER.splitlines()[0].replace('"66"', '"6O"') + "\n", encoding="utf-8")
    typo = read_master_csv(path).problems
    assert len(typo) == 1 and typo[0].message.startswith("billsec: '6O' is not a number of seconds"), typo


def test_master_csv_without_uniqueid_gets_a_stable_id(tmp_path):
    row = MASTER.splitlines()[0].rsplit(",", 2)[0] + "\n"  # 16 columns: loguniqueid off
    path = tmp_path / "Master.csv"
    path.write_text(row)
    first = read_master_csv(path).rows[0].uniqueid
    assert first.startswith("cdr-")
    assert read_master_csv(path).rows[0].uniqueid == first


def test_queue_log_events(tmp_path):
    path = tmp_path / "queue_log"
    path.write_text(
        "1772442000|1772442000.12|support|NONE|ENTERQUEUE||79161234567|1\n"
        "1772442004|1772442000.12|support|SIP/101|CONNECT|4|1772442004.15|3\n"
        "1772442030|1772442000.12|support|SIP/101|BLINDTRANSFER|2050|from-internal|4|26|1\n"
        "not a queue_log line\n"
        "abc|1772442000.12|support|SIP/101|CONNECT|4\n"
        "1772442040|NONE|NONE|NONE|QUEUESTART|\n"
    )
    result = read_queue_log(path)
    assert [e.event for e in result.rows] == ["ENTERQUEUE", "CONNECT", "BLINDTRANSFER", "QUEUESTART"]
    assert result.rows[0].queue == "support" and result.rows[0].agent is None
    assert result.rows[1].data == ["4", "1772442004.15", "3"]
    assert [(p.line, p.code) for p in result.problems] == [(4, "malformed_row"), (5, "malformed_row")]


@pytest.mark.parametrize(
    "interface, code",
    [
        ("SIP/101", "101"),
        ("PJSIP/101-0000000a", "101"),
        ("Local/101@agents", "101"),
        ("Agent/2001", "2001"),
        (None, None),
    ],
)
def test_agent_code(interface, code):
    assert agent_code(interface) == code


def test_recording_name():
    name = parse_recording_name(
        __import__("pathlib").Path("20260302-090004-79161234567-8800-1772442000.12.wav")
    )
    assert name.uniqueid == "1772442000.12"
    assert name.src == "79161234567" and name.dst == "8800"
    assert name.started_at == datetime(2026, 3, 2, 9, 0, 4)
    assert parse_recording_name(__import__("pathlib").Path("call-42.wav")) is None


@pytest.mark.parametrize("delimiter", ["delimiter: ';'\n", ""], ids=["said", "detected"])
def test_generic_csv_through_a_mapping(tmp_path, delimiter):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        delimiter + "datetime_format: '%d.%m.%Y %H:%M:%S'\n"
        "columns:\n  uniqueid: ID звонка\n  start: Начало\n  billsec: Разговор\n  src: Кто звонил\n"
        "  operator: Оператор\n  disposition: Статус\n  recording: Файл\n"
        "values:\n  disposition: {Отвечен: ANSWERED, Пропущен: NO ANSWER}\n",
        encoding="utf-8",
    )
    data = tmp_path / "calls.csv"
    data.write_text(
        "ID звонка;Начало;Разговор;Кто звонил;Оператор;Статус;Файл\n"
        "c1;02.03.2026 09:00:00;00:01:06;79161234567;Петрова;Отвечен;c1.mp3\n"
        "c2;31.02.2026 09:00:00;10;79161234567;Петрова;Отвечен;c2.mp3\n"
        "c3;02.03.2026 10:00:00;0;1234;;Пропущен;\n",
        encoding="utf-8",
    )
    result = read_mapped_csv(data, load_mapping(mapping))
    assert [r.uniqueid for r in result.rows] == ["c1", "c3"]
    assert result.rows[0].billsec == 66 and result.rows[0].operator == "Петрова"
    assert result.rows[0].disposition == "ANSWERED" and result.rows[1].disposition == "NO ANSWER"
    assert result.problems[0].line == 3


def test_a_mapped_optional_column_the_file_lacks_is_reported_and_the_rows_still_read(tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  uniqueid: CallID\n  start: Started\n  recording: Recording File\n")
    data = tmp_path / "calls.csv"
    data.write_text("CallID,Started,RecordingFile\nx,2026-03-02 09:00:00,x.wav\n")
    result = read_mapped_csv(data, load_mapping(mapping))
    assert [r.uniqueid for r in result.rows] == ["x"] and result.rows[0].recording is None
    (problem,) = result.problems
    assert problem.code == "missing_column" and problem.line is None  # the file's, dropped once fixed
    assert "recording (column 'Recording File') is not in the file" in str(problem)
    assert "RecordingFile" in problem.message


def test_generic_csv_missing_column_names_it(tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("columns:\n  uniqueid: CallID\n  start: Started\n")
    data = tmp_path / "calls.csv"
    data.write_text("CallID,Begin\nx,2026-03-02 09:00:00\n")
    with pytest.raises(InputFileError) as error:
        read_mapped_csv(data, load_mapping(mapping))
    assert error.value.code == "missing_column"
    assert "'Started'" in error.value.message and "Begin" in error.value.message


def test_incidents_csv_with_russian_headers(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(
        "Номер;Дата создания;ИНН;КПП;Знание;Оператор;Звонок\n"
        "100234;02.03.2026 09:02:00;7707083893;770701001;6053;101;1772442000.12\n"
        "100235;02.03.2026 09:10:00;12345;;101;102;\n"
        "100236;02.03.2026 09:20:00;;;101;102;a.1, b.2\n",
        encoding="utf-8",
    )
    result = read_incidents(path)
    assert [i.external_id for i in result.rows] == ["100234", "100236"]
    assert result.rows[0].knowledge_article == "6053"
    assert result.rows[0].call_uniqueids == ["1772442000.12"]
    assert result.rows[1].call_uniqueids == ["a.1", "b.2"]
    assert result.problems[0].line == 3 and "INN" in result.problems[0].message


def test_incidents_json(tmp_path):
    path = tmp_path / "incidents.json"
    path.write_text(
        json.dumps(
            {
                "incidents": [
                    {
                        "id": 7,
                        "created_at": "2026-03-02T09:02:00",
                        "inn": "7707083893",
                        "call_uniqueids": ["u.1"],
                    },
                    {"created_at": "2026-03-02T09:02:00"},
                ]
            },
            indent=2,
        )
    )
    result = read_incidents(path)
    assert result.rows[0].external_id == "7" and result.rows[0].call_uniqueids == ["u.1"]
    # The problem points at the line where the second incident starts, and says which one it is.
    assert result.problems[0].line == 11 and "incident #2 lacks" in result.problems[0].message
    assert "--incidents-mapping" in result.problems[0].message


def test_incident_export_without_id_column_fails_clearly(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text("когда,инн\n2026-03-02,7707083893\n", encoding="utf-8")
    with pytest.raises(InputFileError) as error:
        read_incidents(path)
    assert error.value.code == "missing_column" and "--incidents-mapping" in error.value.message


def test_a_mapped_export_whose_quoted_headers_hold_commas_is_read_by_its_semicolons(tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        'columns:\n  uniqueid: "ID звонка"\n  start: "Начало, дата и время"\n', encoding="utf-8"
    )
    data = tmp_path / "calls.csv"
    data.write_text(
        '"ID звонка";"Начало, дата и время";"Длительность, сек"\n"c1";"2026-03-02 09:00:00";"66"\n',
        encoding="utf-8",
    )
    result = read_mapped_csv(data, load_mapping(mapping))
    assert [r.uniqueid for r in result.rows] == ["c1"] and not result.problems


def test_a_semicolon_export_read_as_master_csv_points_to_the_mapping_whatever_its_header(tmp_path):
    data = tmp_path / "pbx_calls.csv"
    data.write_text(
        "ID звонка;Начало;Номер абонента;Оператор;Длительность\n"
        "SV-1;28.11.2026 10:15:02;89131234567;OP-01;43\n",
        encoding="utf-8",
    )
    with pytest.raises(InputFileError) as error:
        read_master_csv(data)
    assert error.value.code == "headed_csv"
    assert "separated by semicolons" in error.value.message and "--cdr-mapping" in error.value.message


def test_a_master_csv_whose_first_line_is_damaged_with_semicolons_loses_only_that_line(tmp_path):
    from simulator.loadgen import SyntheticCall, cdr_row

    start = datetime(2026, 3, 2, 9, 0)
    calls = [
        SyntheticCall(f"17724420{i}.{i}", f"7916100000{i}", "8800", "101", start, 30, None) for i in range(3)
    ]
    lines = [",".join(f'"{cell}"' for cell in cdr_row(c)) for c in calls]
    data = tmp_path / "Master.csv"
    data.write_text(";;\t;x;;;\n" + "\n".join(lines[1:]) + "\n", encoding="utf-8")
    result = read_master_csv(data)
    assert [r.uniqueid for r in result.rows] == [calls[1].uniqueid, calls[2].uniqueid]
    assert [p.line for p in result.problems] == [1]


def test_a_headed_export_read_as_master_csv_points_to_the_mapping(tmp_path):
    data = tmp_path / "cdr_export.csv"
    data.write_text(
        "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,lastdata,duration,billsec,disposition,"
        "amaflags,accountcode,uniqueid,userfield,recordingfile\n"
        '2026-03-02 09:00:00,"""A"" <2125550147>",2125550147,200,from-trunk,SIP/t-1,SIP/200-2,Dial,,60,55,'
        "ANSWERED,3,,1.1,,in-200-2125550147-20260302-090000-1.1.wav\n"
    )
    with pytest.raises(InputFileError) as error:
        read_master_csv(data)
    assert error.value.code == "headed_csv"
    assert "--cdr-mapping" in error.value.message and "calldate" in error.value.message
