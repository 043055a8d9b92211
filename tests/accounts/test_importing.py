"""Reading attendee CSVs: delimiters, encodings, column names, and each row's problems."""

from __future__ import annotations

import pytest

from companion.accounts.importing import (
    AttendeeRow,
    RowProblem,
    attendee_rows,
    auto_map,
    file_problems,
    override_map,
    read_csv,
)
from companion.schedule.interchange import ImportProblem


def _rows(data: bytes, overrides: tuple[str, ...] = (), delimiter: str | None = None) -> list[AttendeeRow]:
    table = read_csv(data, delimiter=delimiter)
    return attendee_rows(table, override_map(table.headers, auto_map(table.headers), overrides))


def _people(rows: list[AttendeeRow]) -> list[tuple]:
    return [(r.line, r.email, r.name, r.company, r.ticket_type, r.registration_id, r.language) for r in rows]


def test_auto_map_knows_the_registration_systems_names():
    eventbrite = ["Order #", "Order Date", "First Name", "Last Name", "Email", "Ticket Type", "Attendee #", "Company"]
    pretix = ["Order code", "Email", "Attendee name", "Attendee email", "Product", "Company", "Language"]
    tito = ["Ticket Reference", "Ticket Full Name", "Ticket Email", "Ticket Company Name", "Ticket"]
    other = ["E-mail", "Full name", "Organisation", "Ticket name", "Registration ID", "Preferred language"]

    assert auto_map(eventbrite) == {"first_name": 2, "last_name": 3, "email": 4, "ticket_type": 5,
                                    "registration_id": 6, "company": 7}
    assert auto_map(pretix) == {"email": 3, "name": 2, "company": 5, "ticket_type": 4, "registration_id": 0,
                                "language": 6}
    assert auto_map(tito) == {"email": 2, "name": 1, "company": 3, "ticket_type": 4, "registration_id": 0}
    assert auto_map(other) == {"email": 0, "name": 1, "company": 2, "ticket_type": 3, "registration_id": 4,
                               "language": 5}
    assert auto_map(["EMAIL ADDRESS", "Organization", "Ticket ID", "Order ID"]) == {
        "email": 0, "company": 1, "registration_id": 2}


def test_rows_join_first_and_last_name_and_normalise_email():
    rows = _rows(b"First Name,Last Name,Email Address,Organization,Ticket,Order ID\n"
                 b"Ada,Lovelace, Ada@Example.ORG ,Analytical Engines,Conference,A-1\n"
                 b"Grace,,grace@example.org,,Workshop,A-2\n")

    assert _people(rows) == [
        (2, "ada@example.org", "Ada Lovelace", "Analytical Engines", "Conference", "A-1", None),
        (3, "grace@example.org", "Grace", None, "Workshop", "A-2", None),
    ]
    assert rows[0].provided == frozenset({"company", "ticket_type", "registration_id"})
    assert file_problems(rows) == []


def test_semicolon_file_with_commas_in_values_is_sniffed():
    table = read_csv('Email;Name;Company\nada@example.org;"Lovelace, Ada";"Engines, Ltd."\n'
                     'bob@example.org;Bob;ACME\n'.encode())

    assert table.delimiter == ";"
    assert table.headers == ("Email", "Name", "Company")
    assert table.rows == ((2, ("ada@example.org", "Lovelace, Ada", "Engines, Ltd.")),
                          (3, ("bob@example.org", "Bob", "ACME")))


def test_tab_file_is_sniffed_and_a_given_delimiter_wins():
    data = b"Email\tName\tCompany\nada@example.org\tAda\tEngines, Ltd.\n"

    assert read_csv(data).delimiter == "\t"
    assert _people(_rows(data)) == [(2, "ada@example.org", "Ada", "Engines, Ltd.", None, None, None)]
    assert read_csv(data, delimiter=",").headers == ("Email\tName\tCompany",)


def test_utf8_with_bom_and_crlf_line_ends():
    rows = _rows("\ufeffE-mail,Name\r\nzoe@example.org,Zoë Ünal\r\n".encode())

    assert _people(rows) == [(2, "zoe@example.org", "Zoë Ünal", None, None, None, None)]


def test_latin1_bytes_are_refused_with_their_line():
    data = b"Email,Name\nada@example.org,Ada\nzoe@example.org,Zo\xeb\n"

    with pytest.raises(ImportProblem) as caught:
        read_csv(data)

    assert str(caught.value) == "not valid UTF-8 at line 3, column 19: save the file as UTF-8"


def test_missing_email_column_names_the_headers_found():
    with pytest.raises(ImportProblem) as caught:
        _rows(b"Full name,Company\nAda,Engines\n")

    assert str(caught.value) == (
        "no email column. The header has: 'Full name', 'Company'. Needed: an email column (such as 'Email' or "
        "'E-mail') and a name column ('Name', or 'First Name' and 'Last Name'); name other columns with "
        "--map COLUMN=field or on the mapping page")


def test_duplicate_emails_report_both_lines():
    rows = _rows(b"Email,Name\nada@example.org,Ada\nbob@example.org,Bob\nADA@example.org,Ada L.\n")

    assert file_problems(rows) == [
        RowProblem(2, "the email ada@example.org is on more than one line (2, 4)"),
        RowProblem(4, "the email ada@example.org is on more than one line (2, 4)"),
    ]


def test_duplicate_registration_ids_report_both_lines():
    rows = _rows(b"Email,Name,Registration ID\na@example.org,A,R-1\nb@example.org,B,R-2\nc@example.org,C,R-1\n")

    assert file_problems(rows) == [
        RowProblem(2, "the registration id R-1 is on more than one line (2, 4)"),
        RowProblem(4, "the registration id R-1 is on more than one line (2, 4)"),
    ]


def test_invalid_email_missing_name_and_extra_values_are_reported_by_line():
    rows = _rows(b'Email,Name,Company\n'
                 b'ada.example.org,Ada,\n'
                 b'bob@example.org,,ACME\n'
                 b',Carol,\n'
                 b'dan@example.org,Dan,ACME,Inc.\n'
                 b'"eve@example.org","Eve\nAdams",\n'
                 b'fay@example.org,Fay,' + b"x" * 201 + b"\n")

    assert file_problems(rows) == [
        RowProblem(2, "'ada.example.org' is not a valid email address: An email address must have an @-sign."),
        RowProblem(3, "no name"),
        RowProblem(4, "no email address"),
        RowProblem(5, "4 values but the header has 3 columns (a value with the delimiter in it and no quotes?)"),
        RowProblem(8, "the company is 201 characters long, over 200"),
    ]
    assert _people(rows)[4] == (6, "eve@example.org", "Eve Adams", None, None, None, None)


def test_map_overrides_the_automatic_mapping():
    data = b"Email,Work email,Name,Firma,Order ID\nada@home.example,ada@work.example,Ada,Engines,R-1\n"

    rows = _rows(data, overrides=("work EMAIL=email", "Firma=company", "Order ID="))

    assert _people(rows) == [(2, "ada@work.example", "Ada", "Engines", None, None, None)]
    assert rows[0].provided == frozenset({"company"})


@pytest.mark.parametrize(("override", "message"), [
    ("Firma", "--map 'Firma': write COLUMN=field, for example \"Order #=registration_id\""),
    ("Nope=company", "--map 'Nope=company': the file has no column 'Nope' (its columns: 'Email', 'Name', 'Firma')"),
    ("Firma=employer", "--map 'Firma=employer': 'employer' is not a field; use one of email, name, first_name, "
                       "last_name, company, ticket_type, registration_id, language"),
])
def test_map_mistakes_are_explained(override, message):
    with pytest.raises(ImportProblem) as caught:
        _rows(b"Email,Name,Firma\nada@example.org,Ada,Engines\n", overrides=(override,))

    assert str(caught.value) == message


def test_map_by_column_number_and_an_empty_file():
    assert _people(_rows(b"a,b\nada@example.org,Ada\n", overrides=("1=email", "2=name"))) == [
        (2, "ada@example.org", "Ada", None, None, None, None)]
    with pytest.raises(ImportProblem) as caught:
        read_csv(b"\n\n")
    assert str(caught.value) == "the file is empty: it needs a header line and a line per attendee"


@pytest.mark.parametrize(("data", "message"), [
    (b'Email,Name\nada@example.org,"Ada\nbob@example.org,Bob\n',
     "line 2: malformed CSV: unexpected end of data (a quote that is never closed?)"),
    (b'Email,Name\nada@example.org,Ada\nbob@example.org,"Bob"by\n', "line 3: malformed CSV: ',' expected after '\"'"),
])
def test_malformed_csv_names_the_rows_first_line(data, message):
    with pytest.raises(ImportProblem) as caught:
        read_csv(data)

    assert str(caught.value) == message
