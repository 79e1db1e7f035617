"""JSON API of the inventory: parts, stock and its moves, reservations, transfers,
the ledger, serialized units, and CSV in and out.

Every route needs a bearer token. Anyone signed in may read; writes need the
role named on the route's ``auth.api_roles`` guard (checked before the input is
validated, see ``core.auth.enforce_api_access``), and depot staff act only for
their own depot (the service checks that). Every POST that writes runs through
``answer_once``, so a request repeated with the same ``Idempotency-Key`` gets
the first answer again and writes nothing new.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_openapi3 import APIBlueprint, Tag
from werkzeug.exceptions import UnsupportedMediaType

from core import auth, clock
from core.errors import Invalid
from core.web import answer_once, uow
from inventory.models import Movement, Part, PartIn, Reservation, Unit
from inventory.schemas import (
    AdjustmentBody,
    ConditionChangeBody,
    CountBody,
    CountOut,
    DecisionBody,
    DiscrepancyPath,
    ErrorOut,
    IdPath,
    ImportErrorOut,
    ImportOut,
    InsufficientOut,
    LedgerCsvQuery,
    LedgerPageOut,
    LedgerQuery,
    MovementOut,
    PartBody,
    PartDetailOut,
    PartList,
    PartOut,
    PartPath,
    PartsQuery,
    PartUpdateBody,
    PickBody,
    PickOut,
    ReceiptBody,
    ReceiveBody,
    ReleaseBody,
    ReservationBody,
    ReservationList,
    ReservationOut,
    ReservationsQuery,
    ScrapBody,
    SerialPath,
    ShipBody,
    StockCsvQuery,
    StockList,
    StockQuery,
    TransferBody,
    TransferList,
    TransferOut,
    TransfersQuery,
    UnitDetailOut,
    UnitList,
    UnitsQuery,
)
from inventory.service import (
    catalog,
    imports,
    moves,
    queries,
    reservations,
    transfers,
)
from inventory.service.imports import ImportReport
from inventory.service.transfers import Decision, LineIn, ReceivedLine, TransferView

api = APIBlueprint(
    "inventory_api",
    __name__,
    url_prefix="/api/v1",
    abp_security=[{"bearer": []}],
    abp_tags=[Tag(name="inventory")],
)

PARTS = Tag(name="parts", description="The parts catalogue and supersession")
STOCK = Tag(name="stock", description="Stock per depot and the moves that change it")
RESERVATIONS = Tag(name="reservations", description="Good stock held for RMAs")
TRANSFERS = Tag(name="transfers", description="Stock moving between depots")
LEDGER = Tag(name="ledger", description="The append-only stock ledger and serialized units")
CSV = Tag(name="csv", description="CSV imports and exports")

READERS: tuple[str, ...] = ()  # anyone signed in
CATALOGUE_ROLES = catalog.CATALOGUE_ROLES
STOCK_ROLES = ("depot_staff",)
RESERVING_ROLES = reservations.RESERVING_ROLES
TRANSFER_PLANNERS = transfers.PLANNING_ROLES
IMPORT_ROLES = imports.IMPORT_ROLES

CSV_MIMETYPES = frozenset({"text/csv", "text/plain", "application/csv", "application/vnd.ms-excel"})
CSV_RESPONSE = {
    "description": "CSV text with a header line",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}
WRITE_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
MOVE_ERRORS: dict[int, Any] = {**WRITE_ERRORS, 409: InsufficientOut}

# A CSV upload: the request body itself (text/csv), or the multipart field ``file``.
CSV_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


# --- serialising ----------------------------------------------------------------------------


def _part(part: Part) -> dict[str, Any]:
    return PartOut.model_validate(part, from_attributes=True).model_dump()


def _stock_row(row: queries.StockRow) -> dict[str, Any]:
    # Plain dicts, not a pydantic model per row: GET /stock returns thousands of rows.
    return {**row.__dict__, "on_hand": row.on_hand}


def _stock_after(u: Any, depot: str, part_number: str) -> dict[str, Any] | None:
    rows = queries.stock(u, depot=depot, part_number=part_number, nonzero=False)
    return _stock_row(rows[0]) if rows else None


def _movement(u: Any, movement: Movement, depot: str, part_number: str) -> dict[str, Any]:
    return MovementOut(
        movement_id=movement.id or 0,
        kind=movement.kind,
        actor=movement.actor,
        reason=movement.reason,
        reference=movement.reference,
        at=movement.created_at,
        stock=_stock_after(u, depot, part_number),
    ).model_dump()


def _reservation(reservation: Reservation) -> dict[str, Any]:
    return ReservationOut(
        id=reservation.id or 0,
        depot=reservation.depot_code,
        part_number=reservation.part_number,
        qty=reservation.qty,
        reference=reservation.reference,
        status=reservation.status,
        created_by=reservation.created_by,
        created_at=reservation.created_at,
        closed_at=reservation.closed_at,
    ).model_dump()


def _transfer(found: TransferView) -> dict[str, Any]:
    t = found.transfer
    return TransferOut(
        id=t.id or 0,
        from_depot=t.from_depot,
        to_depot=t.to_depot,
        status=t.status,
        note=t.note,
        reference=t.reference,
        created_by=t.created_by,
        created_at=t.created_at,
        shipped_by=t.shipped_by,
        shipped_at=t.shipped_at,
        received_by=t.received_by,
        received_at=t.received_at,
        lines=[line.model_dump() for line in found.lines],
        serials=[serial.model_dump() for serial in found.serials],
        discrepancies=[
            {**d.model_dump(), "awaiting_decision": transfers.awaits_decision(d)}
            for d in found.discrepancies
        ],
    ).model_dump()


def _ledger_line(line: queries.LedgerLine) -> dict[str, Any]:
    return dict(line.__dict__)


def _unit(unit: Unit) -> dict[str, Any]:
    return {
        "serial": unit.serial,
        "part_number": unit.part_number,
        "condition": unit.condition,
        "location": unit.location,
        "depot": unit.depot_code,
        "reservation_id": unit.reservation_id,
        "refurbished": unit.refurbished,
        "note": unit.note,
        "updated_at": unit.updated_at,
    }


def _import(report: ImportReport) -> dict[str, Any]:
    return ImportOut(
        kind=report.kind,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        units=report.units,
        summary=report.summary(),
    ).model_dump()


def _json(body: Any, status: int = 200) -> Response:
    return current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype="application/json"
    )


def _csv(text: str, name: str) -> Response:
    stamp = clock.local(clock.now()).strftime("%Y%m%d-%H%M")
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )


def _uploaded_csv() -> str:
    """The CSV text of an import request, from the body or the multipart field ``file``."""
    # Read the raw body first: answer_once fingerprints it, and the multipart
    # parser then works from this cached copy instead of consuming the stream.
    raw = request.get_data(cache=True)
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("send the CSV file in the multipart field 'file'")
        return imports.decode_csv(upload.read())
    if request.mimetype not in CSV_MIMETYPES:
        raise UnsupportedMediaType(
            "send the CSV as a text/csv body or a multipart/form-data field 'file'"
        )
    return imports.decode_csv(raw)


# --- parts ------------------------------------------------------------------------------------


@api.get(
    "/parts",
    tags=[PARTS],
    responses={200: PartList, 401: ErrorOut, 422: ErrorOut},
    summary="Search the parts catalogue",
)
@auth.api_roles(*READERS)
def get_parts(query: PartsQuery) -> Any:
    parts = catalog.list_parts(
        uow(), search=query.search, family=query.family, limit=query.limit, offset=query.offset
    )
    return _json([_part(part) for part in parts])


@api.post(
    "/parts",
    tags=[PARTS],
    responses={201: PartOut, **WRITE_ERRORS, 409: ErrorOut},
    summary="Add a part to the catalogue (planners)",
)
@auth.api_roles(*CATALOGUE_ROLES)
def post_part(body: PartBody) -> Any:
    actor = auth.api_actor()
    return answer_once(lambda u: (_part(catalog.create_part(u, actor, body)), 201))


@api.get(
    "/parts/<part_number>",
    tags=[PARTS],
    responses={200: PartDetailOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A part with its supersession chain and substitutes",
)
@auth.api_roles(*READERS)
def get_part(path: PartPath) -> Any:
    u = uow()
    part = catalog.get_part(u, path.part_number)
    chain = catalog.substitutes(u, part.part_number)
    return _json({**_part(part), "supersession_chain": chain, "substitutes": chain[1:]})


@api.put(
    "/parts/<part_number>",
    tags=[PARTS],
    responses={200: PartOut, **WRITE_ERRORS, 409: ErrorOut},
    summary="Replace a part's description, family, cost, supersession... (planners)",
)
@auth.api_roles(*CATALOGUE_ROLES)
def put_part(path: PartPath, body: PartUpdateBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        number = catalog.get_part(u, path.part_number).part_number
        if body.part_number is not None and body.part_number != number:
            raise Invalid(f"part_number {body.part_number} does not match the path ({number})")
        spec = PartIn.model_validate({**body.model_dump(), "part_number": number})
        return _part(catalog.update_part(u, actor, spec)), 200

    return answer_once(work)


# --- stock --------------------------------------------------------------------------------------


@api.get(
    "/stock",
    tags=[STOCK],
    responses={200: StockList, 401: ErrorOut, 422: ErrorOut},
    summary="Stock per depot and part: each condition, reserved, available, in transit",
)
@auth.api_roles(*READERS)
def get_stock(query: StockQuery) -> Any:
    rows = queries.stock(
        uow(),
        depot=query.depot,
        part_number=query.part_number,
        condition=query.condition,
        search=query.search,
        family=query.family,
        nonzero=not query.include_empty,
        limit=query.limit,
        offset=query.offset,
    )
    return _json([_stock_row(row) for row in rows])


@api.post(
    "/stock/receipts",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Receive new good stock from the factory or a supplier (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_receipt(body: ReceiptBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.receive(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.serials,
            reference=body.reference,
            reason=body.reason,
        )
        return _movement(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/adjustments",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Correct stock by a signed quantity, with a reason (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_adjustment(body: AdjustmentBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.adjust(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.reason,
            body.serials,
            condition=body.condition,
        )
        return _movement(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/scrap",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Write off units that cannot be repaired (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_scrap(body: ScrapBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.scrap(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.reason,
            body.serials,
            condition=body.condition,
        )
        return _movement(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/condition-changes",
    tags=[STOCK],
    responses={201: MovementOut, **MOVE_ERRORS},
    summary="Move units between conditions, e.g. defective -> in_repair -> good (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_condition_change(body: ConditionChangeBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = moves.change_condition(
            u,
            actor,
            body.depot,
            body.part_number,
            body.qty,
            body.from_condition,
            body.to_condition,
            body.serials,
            reason=body.reason,
            reference=body.reference,
        )
        return _movement(u, movement, body.depot, body.part_number), 201

    return answer_once(work)


@api.post(
    "/stock/counts",
    tags=[STOCK],
    responses={201: CountOut, **MOVE_ERRORS},
    summary="Record a cycle count; differences become adjustments (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def post_count(body: CountBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        result = moves.count(
            u,
            actor,
            body.depot,
            body.part_number,
            body.counted,
            body.serials,
            condition=body.condition,
        )
        answer = CountOut(
            count_id=result.count_id,
            depot=body.depot,
            part_number=body.part_number,
            condition=body.condition,
            expected=result.expected,
            counted=result.counted,
            difference=result.counted - result.expected,
            movement_id=result.movement_id,
            missing=result.missing,
            found=result.found,
            stock=_stock_after(u, body.depot, body.part_number),
        )
        return answer.model_dump(), 201

    return answer_once(work)


# --- reservations -------------------------------------------------------------------------------


@api.post(
    "/reservations",
    tags=[RESERVATIONS],
    responses={201: ReservationOut, **MOVE_ERRORS},
    summary="Hold available good stock for an RMA; 409 when not enough is available",
)
@auth.api_roles(*RESERVING_ROLES)
def post_reservation(body: ReservationBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        reservation = reservations.reserve(
            u, actor, body.depot, body.part_number, body.qty, body.reference or ""
        )
        return _reservation(reservation), 201

    return answer_once(work)


@api.get(
    "/reservations",
    tags=[RESERVATIONS],
    responses={200: ReservationList, 401: ErrorOut, 422: ErrorOut},
    summary="Reservations by depot, reference and status",
)
@auth.api_roles(*READERS)
def get_reservations(query: ReservationsQuery) -> Any:
    found = reservations.list_reservations(
        uow(), depot=query.depot, reference=query.reference, status=query.status
    )
    return _json([_reservation(r) for r in found])


@api.post(
    "/reservations/<int:id>/release",
    tags=[RESERVATIONS],
    responses={200: ReservationOut, **WRITE_ERRORS},
    summary="Give reserved stock back to available (releasing twice is harmless)",
)
@auth.api_roles(*RESERVING_ROLES)
def release_reservation(path: IdPath, body: ReleaseBody) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (_reservation(reservations.release(u, actor, path.id, reason=body.reason)), 200)
    )


@api.post(
    "/reservations/<int:id>/pick",
    tags=[RESERVATIONS],
    responses={200: PickOut, **MOVE_ERRORS},
    summary="Take reserved units off the shelf to ship them to the customer (depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def pick_reservation(path: IdPath, body: PickBody) -> Any:
    actor = auth.api_actor()

    def work(u: Any) -> tuple[Any, int]:
        movement = reservations.pick(u, actor, path.id, body.serials)
        reservation = reservations.get_reservation(u, path.id)
        answer = {
            "reservation": _reservation(reservation),
            "movement": _movement(u, movement, reservation.depot_code, reservation.part_number),
        }
        return answer, 200

    return answer_once(work)


# --- transfers ----------------------------------------------------------------------------------


@api.post(
    "/transfers",
    tags=[TRANSFERS],
    responses={201: TransferOut, **WRITE_ERRORS},
    summary="Draft a transfer between two depots (planners, staff of either depot)",
)
@auth.api_roles(*TRANSFER_PLANNERS)
def post_transfer(body: TransferBody) -> Any:
    actor = auth.api_actor()
    lines = [LineIn(line.part_number, line.qty) for line in body.lines]

    def work(u: Any) -> tuple[Any, int]:
        found = transfers.create_transfer(
            u,
            actor,
            body.from_depot,
            body.to_depot,
            lines,
            note=body.note,
            reference=body.reference,
        )
        return _transfer(found), 201

    return answer_once(work)


@api.get(
    "/transfers",
    tags=[TRANSFERS],
    responses={200: TransferList, 401: ErrorOut, 422: ErrorOut},
    summary="Transfers, newest first, by status and depot (from or to)",
)
@auth.api_roles(*READERS)
def get_transfers(query: TransfersQuery) -> Any:
    found = transfers.list_transfers(
        uow(), status=query.status, depot=query.depot, limit=query.limit
    )
    return _json([_transfer(t) for t in found])


@api.get(
    "/transfers/<int:id>",
    tags=[TRANSFERS],
    responses={200: TransferOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A transfer with its lines, serials and discrepancies",
)
@auth.api_roles(*READERS)
def get_transfer(path: IdPath) -> Any:
    return _json(_transfer(transfers.get_transfer(uow(), path.id)))


@api.post(
    "/transfers/<int:id>/ship",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Ship a draft: stock goes in transit; 409 and nothing moves if any line is short "
    "(source depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def ship_transfer(path: IdPath, body: ShipBody) -> Any:
    actor = auth.api_actor()
    serials = dict(body.serials) or None
    return answer_once(
        lambda u: (_transfer(transfers.ship_transfer(u, actor, path.id, serials)), 200)
    )


@api.post(
    "/transfers/<int:id>/receive",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Receive a shipped transfer; differences are recorded as discrepancies, extras "
    "wait in quarantine for a decision; 409 for a serial held elsewhere (destination depot "
    "staff)",
)
@auth.api_roles(*STOCK_ROLES)
def receive_transfer(path: IdPath, body: ReceiveBody) -> Any:
    actor = auth.api_actor()
    received = (
        None
        if body.lines is None
        else [ReceivedLine(line.part_number, line.qty, line.serials) for line in body.lines]
    )
    return answer_once(
        lambda u: (_transfer(transfers.receive_transfer(u, actor, path.id, received)), 200)
    )


def _decide(path: DiscrepancyPath, body: DecisionBody, decision: Decision) -> Any:
    actor = auth.api_actor()
    return answer_once(
        lambda u: (
            _transfer(
                transfers.resolve_discrepancy(
                    u,
                    actor,
                    path.discrepancy_id,
                    decision,
                    transfer_id=path.id,
                    reason=body.reason,
                )
            ),
            200,
        )
    )


@api.post(
    "/transfers/<int:id>/discrepancies/<int:discrepancy_id>/accept",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Accept an extra after inspection: quarantine -> good stock; 409 if it is not "
    "an extra waiting for a decision (receiving depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def accept_extra(path: DiscrepancyPath, body: DecisionBody) -> Any:
    return _decide(path, body, Decision.ACCEPT)


@api.post(
    "/transfers/<int:id>/discrepancies/<int:discrepancy_id>/send-back",
    tags=[TRANSFERS],
    responses={200: TransferOut, **MOVE_ERRORS},
    summary="Send an extra back to its sender: quarantine -> out of our books; 409 if it "
    "is not an extra waiting for a decision (receiving depot staff)",
)
@auth.api_roles(*STOCK_ROLES)
def send_back_extra(path: DiscrepancyPath, body: DecisionBody) -> Any:
    return _decide(path, body, Decision.SEND_BACK)


@api.post(
    "/transfers/<int:id>/cancel",
    tags=[TRANSFERS],
    responses={200: TransferOut, **WRITE_ERRORS, 409: ErrorOut},
    summary="Cancel a draft transfer",
)
@auth.api_roles(*TRANSFER_PLANNERS)
def cancel_transfer(path: IdPath) -> Any:
    actor = auth.api_actor()
    return answer_once(lambda u: (_transfer(transfers.cancel_transfer(u, actor, path.id)), 200))


# --- ledger and units ---------------------------------------------------------------------------


@api.get(
    "/ledger",
    tags=[LEDGER],
    responses={200: LedgerPageOut, 401: ErrorOut, 422: ErrorOut},
    summary="Ledger entries, newest first; page with before_id",
)
@auth.api_roles(*READERS)
def get_ledger(query: LedgerQuery) -> Any:
    lines = queries.ledger_lines(
        uow(),
        depot=query.depot,
        part_number=query.part_number,
        serial=query.serial,
        reference=query.reference,
        before_id=query.before_id,
        limit=query.limit,
    )
    following = lines[-1].id if len(lines) == query.limit else None
    return _json({"items": [_ledger_line(line) for line in lines], "next_before_id": following})


@api.get(
    "/units",
    tags=[LEDGER],
    responses={200: UnitList, 401: ErrorOut, 422: ErrorOut},
    summary="Serialized units by depot, part, condition and location",
)
@auth.api_roles(*READERS)
def get_units(query: UnitsQuery) -> Any:
    found = queries.list_units(
        uow(),
        depot=query.depot,
        part_number=query.part_number,
        condition=query.condition,
        location=query.location,
        limit=query.limit,
        offset=query.offset,
    )
    return _json([_unit(unit) for unit in found])


@api.get(
    "/units/<serial>",
    tags=[LEDGER],
    responses={200: UnitDetailOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="A serialized unit and its full history, oldest first",
)
@auth.api_roles(*READERS)
def get_unit(path: SerialPath) -> Any:
    unit, history = queries.get_unit(uow(), path.serial)
    return _json({**_unit(unit), "history": [_ledger_line(line) for line in history]})


# --- CSV ------------------------------------------------------------------------------------


@api.get(
    "/stock.csv",
    tags=[CSV],
    responses={200: CSV_RESPONSE, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Stock as CSV (depot,part_number,description,good,reserved,available,defective,"
    "in_repair,quarantine,in_transit)",
)
@auth.api_roles(*READERS)
def get_stock_csv(query: StockCsvQuery) -> Any:
    text = imports.export_stock_csv(uow(), depot=query.depot)
    return _csv(text, f"stock-{query.depot}" if query.depot else "stock")


@api.get(
    "/ledger.csv",
    tags=[CSV],
    responses={200: CSV_RESPONSE, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Ledger entries, oldest first, as CSV (times in Asia/Shanghai)",
)
@auth.api_roles(*READERS)
def get_ledger_csv(query: LedgerCsvQuery) -> Any:
    text = imports.export_ledger_csv(uow(), depot=query.depot, part_number=query.part_number)
    return _csv(text, "ledger")


@api.post(
    "/parts/import",
    tags=[CSV],
    responses={200: ImportOut, 401: ErrorOut, 403: ErrorOut, 415: ErrorOut, 422: ImportErrorOut},
    openapi_extensions=CSV_UPLOAD,
    summary="Create and update parts from CSV; any bad row: 422 listing every problem, "
    "nothing imported (planners)",
)
@auth.api_roles(*IMPORT_ROLES)
def import_parts() -> Any:
    actor = auth.api_actor()
    text = _uploaded_csv()
    return answer_once(lambda u: (_import(imports.import_parts(u, actor, text)), 200))


@api.post(
    "/stock/import",
    tags=[CSV],
    responses={200: ImportOut, 401: ErrorOut, 403: ErrorOut, 415: ErrorOut, 422: ImportErrorOut},
    openapi_extensions=CSV_UPLOAD,
    summary="Book stock receipts from CSV; any bad row: 422 listing every problem, "
    "nothing booked (planners)",
)
@auth.api_roles(*IMPORT_ROLES)
def import_stock() -> Any:
    actor = auth.api_actor()
    text = _uploaded_csv()
    return answer_once(lambda u: (_import(imports.import_stock(u, actor, text)), 200))
