"""The backend's HTTP face: `create_app(settings)` migrates the database, loads the domain
plug-ins and serves /agent, /form/update, /alert(s), /health and /metrics."""
from __future__ import annotations

import logging
import threading

import requests
from flask import Flask, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from admin.panel import init_admin
from backend.agent.circuit_breaker import CircuitBreaker
from backend.agent.model_client import ModelClient
from backend.agent.model_health import check_all, start_health_checks
from backend.agent.model_metrics import ModelMetrics, PoolCollector
from backend.agent.model_pool import TIERS, ModelPool
from backend.agent.orchestrator import Orchestrator
from backend.agent.reactions import create_reactions_blueprint
from backend.agent.routes import create_agent_blueprint
from backend.agent.speech_client import SpeechClient
from backend.agent.voice import create_voice_blueprint
from backend.alerts.routes import create_alerts_blueprint
from backend.forms import create_forms_blueprint
from backend.plugins.registry import load_plugins, register_forms
from backend.scheduler import Scheduler
from backend.takeovers import takeover_job
from backend.settings import BackendSettings, load_settings, model_endpoint_specs
from backend.stats_metrics import StatsCollector
from backend.stats_routes import create_stats_blueprint
from backend.store.database import Store
from backend.store.migrations import migrate
from chasqui.http_errors import install_json_errors
from chasqui.http_input import install_row_ids
from chasqui.logs import configure_logging
from chasqui.request_hooks import install_request_hooks

log = logging.getLogger("backend")


class BackendMetrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("chasqui_backend_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.agent_replies = Counter("chasqui_agent_replies", "Replies by where they came from",
                                     ["source"], registry=self.registry)
        self.orchestration = Histogram("chasqui_agent_orchestration_seconds",
                                       "Time /agent spends outside the model call", registry=self.registry,
                                       buckets=(0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 1))
        self.voice_notes = Counter("chasqui_voice_notes", "Voice notes by outcome: heard, silent, or the "
                                   "speech engine's reason it could not hear one", ["outcome"], registry=self.registry)
        self.transcription = Histogram("chasqui_voice_transcription_seconds", "Time the speech engine took "
                                       "for one note, as seen by the backend", registry=self.registry,
                                       buckets=(0.5, 1, 2, 3, 5, 8, 13, 20, 40, 90))


def build_model_client(settings: BackendSettings, metrics: ModelMetrics | None = None) -> ModelClient:
    pool = ModelPool.of(model_endpoint_specs(settings), settings.breaker_failures, settings.breaker_cooldown_s)
    return ModelClient(pool, settings.model_timeout_s, settings.model_retries, settings.model_temperature,
                       metrics=metrics, stream=settings.model_stream)


def build_speech_client(settings: BackendSettings) -> SpeechClient:
    return SpeechClient(settings.speech_api_url, settings.speech_api_token, settings.speech_timeout_s,
                        settings.speech_language, settings.speech_model,
                        CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown_s))


def create_app(settings: BackendSettings | None = None) -> Flask:
    configure_logging("backend")
    settings = settings or load_settings()
    store = Store(settings.database)
    migrate(store.db)
    plugins = load_plugins(settings.plugins)
    for plugin in plugins.values():
        migrate(store.db, plugin.migrations, plugin=plugin.name)
        if plugin.on_start:
            plugin.on_start(store.db)
    register_forms(store.db, plugins)
    metrics = BackendMetrics()
    model = build_model_client(settings, ModelMetrics(metrics.registry))
    metrics.registry.register(PoolCollector(model.pool))
    start_health_checks(model.pool, settings.model_health_interval_s)
    metrics.registry.register(StatsCollector(store))  # the dashboard's gauges, computed at scrape

    app = Flask(__name__)
    install_row_ids(app)  # before any route: ids in paths are ASCII and fit 64-bit integers (both engines')
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["chasqui_store"] = store
    install_json_errors(app, "the backend's body limit")

    # /admin signs its users in with its own session login (admin.panel), not the bridge's token.
    install_request_hooks(app, settings.token, "BACKEND_TOKEN", ("/health", "/admin"),
                          lambda endpoint, status, _: metrics.requests.labels(endpoint, str(status)).inc(), log)

    health_session = requests.Session()

    @app.get("/health")
    def health():
        try:
            store.db.execute("SELECT 1").fetchone()
            database = "ok"
        except Exception as problem:  # reported, not raised: health must always answer
            database = f"error: {problem}"
        check_all(health_session, model.pool, fresh_s=2.0, wait_s=1.5)  # fresher than the background check's
        answers = [e for e in model.endpoints if e.tier != "classify"]
        model_ready = any(e.healthy for e in answers)
        status = "down" if database != "ok" else ("ok" if model_ready else "degraded")
        body = {"status": status, "database": database, "database_engine": store.db.dialect,
                "model_api": "ready" if model_ready else "unreachable",
                "model_circuit": {tier: "open" if all(e.breaker.is_open for e in model.pool.tier(tier)) else "closed"
                                  for tier in TIERS if model.pool.tier(tier)},
                "model_endpoints": [e.status() for e in model.endpoints]}
        return jsonify(body), 503 if status == "down" else 200

    @app.get("/metrics")
    def metrics_route():
        return Response(generate_latest(metrics.registry), mimetype=CONTENT_TYPE_LATEST)

    orchestrator = Orchestrator(store, plugins, model, {"model": settings.daily_model_calls,
                                                        "secondary": settings.daily_secondary_model_calls},
                                settings.takeover_idle_s)
    if settings.warm_up:
        threading.Thread(target=model.warm_up, args=(orchestrator.warm_up_prompts(),), daemon=True,
                         name="model-warm-up").start()
    app.register_blueprint(create_agent_blueprint(orchestrator, metrics))
    app.register_blueprint(create_reactions_blueprint(store))
    app.register_blueprint(create_voice_blueprint(orchestrator, build_speech_client(settings),
                                                  settings.max_audio_bytes, metrics))
    app.register_blueprint(create_forms_blueprint(store))
    app.register_blueprint(create_alerts_blueprint(store, settings))
    app.register_blueprint(create_stats_blueprint(store))
    for plugin in plugins.values():
        if plugin.routes:
            app.register_blueprint(plugin.routes(store))
    init_admin(app, store, extra_views=[view for p in plugins.values() for view in p.admin_views],  # at /admin
               secure_cookies=settings.admin_secure_cookies)
    scheduler = Scheduler(store, plugins, core_jobs=[takeover_job(settings.takeover_idle_s)])
    app.extensions["chasqui_scheduler"] = scheduler
    scheduler.start()
    return app
