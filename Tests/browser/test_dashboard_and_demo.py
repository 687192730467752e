"""The /admin dashboard and the chat demo (Examples/chat-web), each in a real headless Chromium."""

import contextlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from conftest import BINARY, BUILD, BUNDLED, ROOT, WAIT, WEBSOCKET_LINE


@pytest.fixture
def browser():
    """Opens plain Chromium windows (not the client test page); all are closed after the test."""
    drivers = []

    def launch(width=1280, height=900):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         f"--window-size={width},{height}"):
            options.add_argument(argument)
        driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        drivers.append(driver)
        return driver

    try:
        yield launch
    finally:
        for driver in drivers:
            driver.quit()


def wait_for(condition, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)  # the polling interval, not a wait for something to happen


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def test_the_dashboard_shows_the_connections_of_this_test(server, open_tab, browser):
    for user in ("dash-a", "dash-b"):
        open_tab().start(user)
    dashboard = browser(1440, 1200)
    dashboard.get(server.api_url.replace("/api", "/admin"))
    wait_for(lambda: dashboard.find_element(By.ID, "key").is_displayed(), "the key prompt")
    dashboard.find_element(By.ID, "key").send_keys("not-the-key-0123456789")
    dashboard.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_for(lambda: "401" in text(dashboard, "login-error"), "a wrong key to be refused")
    dashboard.find_element(By.ID, "key").clear()
    dashboard.find_element(By.ID, "key").send_keys(server.api_key)
    dashboard.find_element(By.CSS_SELECTOR, "#login-form button").click()
    wait_for(lambda: text(dashboard, "status") == "live", "the dashboard to go live")

    # Other tests of this session may still hold connections: compare with the server's own count.
    def agrees():
        expected = server.api("info", {})["nodes"][0]["num_clients"]
        return expected >= 2 and text(dashboard, "connections") == str(expected)

    wait_for(agrees, "the dashboard's connection count to match the server's")
    plugins = text(dashboard, "plugins")
    assert "_notify_room" in plugins and "_join" in plugins
    assert "room.join" in text(dashboard, "events")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def demo():
    """`make demo`'s two processes on free ports: the engine on Examples/chat-web/config.yaml (debug build)
    and Examples/chat-web/serve.py. Yields the page's URL."""
    web, ws, api = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory() as folder:
        plugins = pathlib.Path(folder)
        for name in BUNDLED:
            (plugins / f"libGoDispatch{name}.so").symlink_to(BUILD / f"libGoDispatch{name}.so")
        env = {key: value for key, value in os.environ.items() if not key.startswith("GODISPATCH_")}
        env.update(GODISPATCH_PLUGINS=str(plugins), GODISPATCH_DEMO_WEB_PORT=str(web),
                   GODISPATCH_DEMO_LISTEN=f"127.0.0.1:{ws}", GODISPATCH_DEMO_API_LISTEN=f"127.0.0.1:{api}",
                   GODISPATCH_DEMO_WS=f"ws://127.0.0.1:{ws}/ws")
        engine = subprocess.Popen([str(BINARY), "serve", "--config", str(ROOT / "Examples/chat-web/config.yaml")],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        page = subprocess.Popen([sys.executable, str(ROOT / "Examples/chat-web/serve.py")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            timer = threading.Timer(120, engine.kill)
            timer.start()
            log = []
            for line in engine.stderr:
                log.append(line)
                if WEBSOCKET_LINE.search(line):
                    break
            timer.cancel()
            assert engine.poll() is None, "the demo's engine did not start:\n" + "".join(log)
            threading.Thread(target=lambda: [None for _ in engine.stderr], daemon=True).start()
            assert "chat demo: http://127.0.0.1:" in page.stdout.readline()
            yield f"http://127.0.0.1:{web}/"
        finally:
            for process in (page, engine):
                process.terminate()
                process.wait(timeout=WAIT)


def test_the_demo_chats_between_two_windows_with_presence(browser):
    assert BINARY.exists(), f"{BINARY} is missing: run `swift build` first"
    with demo() as url:
        windows = []
        for name in ("Ada Lovelace", "Grace Hopper"):
            window = browser()
            window.get(url)
            window.find_element(By.ID, "name").send_keys(name)
            window.find_element(By.CSS_SELECTOR, "#welcome-form button").click()
            wait_for(lambda: text(window, "connection") == "online", f"{name}'s window to connect")
            windows.append(window)
        ada, grace = windows
        wait_for(lambda: text(ada, "online-count") == "2", "Ada to see two people online")
        ada.find_element(By.ID, "text").send_keys("Hello Grace")
        ada.find_element(By.CSS_SELECTOR, "#composer button").click()
        wait_for(lambda: "Hello Grace" in text(grace, "messages"), "Grace to receive Ada's message")
        assert "Ada Lovelace" in text(grace, "messages") and "Ada Lovelace" in text(grace, "members")
        # A reload shows the room's recent past, from its history.
        grace.refresh()
        wait_for(lambda: text(grace, "connection") == "online", "Grace's window to reconnect after a reload")
        wait_for(lambda: "Hello Grace" in text(grace, "messages"), "the history after a reload")
