"""Azure Functions bindings (v2 programming model). Bindings only: every trigger hands over to core.entry.functions."""

import azure.functions as func

from core.entry import functions as handlers
from core.entry.http import routes as api

REQUEST_QUEUE = "image-build-requests"
STEP_QUEUE = "image-build-steps"
STORAGE = "AzureWebJobsStorage"

# Function keys, or anonymous to the host behind App Service authentication with Entra ID (API_AUTH=entra).
app = func.FunctionApp(http_auth_level=handlers.http_auth_level())


@app.queue_trigger(arg_name="msg", queue_name=REQUEST_QUEUE, connection=STORAGE)
def build_request(msg: func.QueueMessage) -> None:
    handlers.handle_request_message(msg)


@app.queue_trigger(arg_name="msg", queue_name=STEP_QUEUE, connection=STORAGE)
def build_step(msg: func.QueueMessage) -> None:
    handlers.handle_step_message(msg)


@app.queue_trigger(arg_name="msg", queue_name=STEP_QUEUE + "-poison", connection=STORAGE)
def build_step_poisoned(msg: func.QueueMessage) -> None:
    handlers.handle_poisoned_step(msg)


@app.timer_trigger(arg_name="timer", schedule="0 */1 * * * *", run_on_startup=False)
def redrive_overdue_builds(timer: func.TimerRequest) -> None:
    handlers.handle_redrive_timer(timer)


@app.route(route="builds", methods=["POST"])
def submit_build(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_api(api.submit_build, req)


@app.route(route="builds/change-regions", methods=["POST"])
def change_regions(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_api(api.change_regions, req)


@app.route(route="builds", methods=["GET"])
def list_builds(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_api(api.list_builds, req)


@app.route(route="builds/{id}", methods=["GET"])
def build_status(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_api(api.get_build, req)


@app.route(route="builds/{id}/terminate", methods=["POST"])
def terminate_build(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_api(api.terminate_build, req)


@app.route(route="builds/{id}/retry", methods=["POST"])
def retry_build(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_api(api.retry_build, req)


@app.route(route="audits/{id}", methods=["GET"])
def audit_report(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_api(api.get_audit, req)


@app.route(route="schemas/request-v1.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def request_schema(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_request_schema(req)


@app.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    return handlers.handle_openapi(req)


@app.event_grid_trigger(arg_name="event")
def snapshot_written(event: func.EventGridEvent) -> None:
    handlers.handle_snapshot_event(event)


@app.timer_trigger(arg_name="timer", schedule="%AUDIT_SCHEDULE%")
def compliance_audit(timer: func.TimerRequest) -> None:
    handlers.handle_audit_timer(timer)
