"""The web UI in headless Chromium (Selenium), as an operator uses it (SPEC B23).

Run by WebUITests with a lab already up and a phone registered through edge-1. Environment:
LAB_WEB, EDGE_WEB, CORE_WEB (base URLs), PASSWORD (the lab admin's), CA (the lab CA's PEM file),
ARTIFACTS (screenshots go here), DOWNLOADS (the browser's download folder), EDGEWAY (the binary). Every wait is bounded.
Exits 0 when every check holds, else 1 naming the first that failed.
"""
import os
import re
import http.cookiejar
import ssl
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.support.ui import Select, WebDriverWait

LAB, EDGE, CORE = os.environ["LAB_WEB"], os.environ["EDGE_WEB"], os.environ["CORE_WEB"]
PASSWORD, CA = os.environ["PASSWORD"], os.environ["CA"]
ARTIFACTS, DOWNLOADS, EDGEWAY = os.environ["ARTIFACTS"], os.environ["DOWNLOADS"], os.environ["EDGEWAY"]


class Failed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failed(what)
    print("ok:", what, flush=True)


def wait_for(condition, what, seconds=45):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            print("ok:", what, flush=True)
            return
        time.sleep(0.5)
    raise Failed(f"{what} (not within {seconds} s)")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    # The lab's certificate is signed by the lab CA, which this fresh profile does not know.
    options.accept_insecure_certs = True
    options.add_experimental_option("prefs", {"download.default_directory": DOWNLOADS, "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": DOWNLOADS})
    return driver


def shot(driver, name):
    driver.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))


def text(driver, element_id):
    found = driver.find_elements(By.ID, element_id)
    return found[0].text if found else ""


def submit(driver, button):
    """Clicks a form's button and waits (up to 60 s) for the page it loads."""
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()

    def replaced(_):
        # Chromium says the old page is gone either as a stale element or as a node "that does not
        # belong to the document"; both mean the form's answer is loading or loaded.
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            return driver.execute_script("return document.readyState") == "complete"
    WebDriverWait(driver, 60).until(replaced)


def press(driver, element_id):
    submit(driver, driver.find_element(By.ID, element_id))


def log_in(driver, base, password):
    driver.get(base + "/login")
    driver.find_element(By.ID, "username").send_keys("admin")
    driver.find_element(By.ID, "password").send_keys(password)
    press(driver, "login")


def set_keepalive(driver, value):
    driver.get(EDGE + "/configuration/advanced")
    Select(driver.find_element(By.ID, "StunKeepAliveForRegisteredPathEnabled")).select_by_visible_text(value)
    press(driver, "save")
    check(f"StunKeepAliveForRegisteredPathEnabled: {value}" in text(driver, "notice"), f"the edge saved the keepalive {value}")


def active_alarms(driver, base):
    driver.get(base + "/status/overview")
    return text(driver, "active-alarms")


def plain_request(url, data=None, cookie=None):
    """A request outside the browser, with `cookie` as its Cookie header: (status, body). Redirects are not followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=CA)))
    try:
        with opener.open(urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {}), timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def lockout(base):
    """Five wrong passwords from one address: the sixth try, even with the right password, gets 429."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                         urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=CA)))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    def attempt(password):
        body = urllib.parse.urlencode({"csrf": token, "username": "admin", "password": password}).encode()
        try:
            with opener.open(urllib.request.Request(base + "/login", data=body), timeout=60) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)
    statuses = [attempt("wrong-%d" % number)[0] for number in range(5)]
    check(statuses == [401] * 5, f"five wrong passwords are refused with 401 (got {statuses})")
    status, headers = attempt(PASSWORD)
    check(status == 429 and int(headers.get("Retry-After", "0")) > 0,
          f"then the address gets 429 with Retry-After, even with the right password (got {status}, {headers.get('Retry-After')})")


def run(driver):
    # Without a session: a page is sent to the login page, a form is refused.
    status, _ = plain_request(EDGE + "/status/overview")
    check(status == 303, f"a page request without a session is refused (303 to /login, got {status})")
    status, body = plain_request(EDGE + "/configuration/advanced", b"StunKeepAliveForRegisteredPathEnabled=Off")
    check(status == 401 and "log in first" in body, f"a form POST without a session is refused (got {status})")

    driver.get(LAB)
    check("edge-1" in text(driver, "nodes") and "core-1" in text(driver, "nodes"), "the lab's entry page links every node")
    shot(driver, "lab-entry-page")

    driver.get(EDGE + "/status/overview")
    check(driver.current_url.endswith("/login"), "the browser without a session lands on the login page")
    log_in(driver, EDGE, "not-the-password")
    check("wrong user name or password" in text(driver, "error"), "a wrong password is refused")
    shot(driver, "login-refused")
    log_in(driver, EDGE, PASSWORD)
    check(driver.current_url.endswith("/status/overview"), "the right password logs in")
    shot(driver, "status-overview")

    def alice_with_rtt():
        driver.get(EDGE + "/status/registrations?user=alice")
        rows = driver.find_elements(By.CSS_SELECTOR, "#registrations tr")[1:]
        return any("sip:alice@example.com" in row.text and re.fullmatch(r"\d+\.\d{3} ms", row.find_element(By.CLASS_NAME, "rtt").text)
                   for row in rows)
    wait_for(alice_with_rtt, "the registrations page lists alice, registered through the lab, with her keepalive RTT")
    shot(driver, "status-registrations")

    # The CSRF token is required on every form, even with the session's cookie. (The pages allow
    # no script, so the request is made outside the browser, with its cookies.)
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    status, body = plain_request(EDGE + "/configuration/advanced", b"StunKeepAliveForRegisteredPathEnabled=Off", cookie=cookies)
    check(status == 403 and "CSRF token" in body, f"a form POST with the session but without the CSRF token is refused (got {status})")

    set_keepalive(driver, "Off")
    shot(driver, "configuration-advanced")
    wait_for(lambda: "keepalive-setting-mismatch" in active_alarms(driver, EDGE), "the edge's status page shows the mismatch alarm")
    shot(driver, "status-overview-alarm-edge")
    log_in(driver, CORE, PASSWORD)
    wait_for(lambda: "keepalive-setting-mismatch" in active_alarms(driver, CORE), "the core's status page shows the mismatch alarm")
    shot(driver, "status-overview-alarm-core")

    set_keepalive(driver, "On")
    wait_for(lambda: "keepalive-setting-mismatch" not in active_alarms(driver, EDGE) and text(driver, "active-alarm-count") == "0",
             "the edge's alarm clears")
    wait_for(lambda: "keepalive-setting-mismatch" not in active_alarms(driver, CORE) and text(driver, "active-alarm-count") == "0",
             "the core's alarm clears")
    driver.get(EDGE + "/status/alarms")
    check("Cleared" in text(driver, "alarms") and "keepalive-setting-mismatch" in text(driver, "alarms"), "the alarms page lists it cleared")
    submit(driver, driver.find_element(By.CSS_SELECTOR, "#alarms button"))
    check(re.search(r"admin \d{4}-", text(driver, "alarms")) is not None, "an alarm is acknowledged by admin")
    shot(driver, "status-alarms")

    driver.get(EDGE + "/maintenance/mode")
    check(text(driver, "mode") == "Off", "the maintenance mode page shows Off")
    shot(driver, "maintenance-mode")

    driver.get(EDGE + "/maintenance/diagnostic-logging")
    check(driver.find_element(By.ID, "tcpdump").is_selected(), "Take tcpdump while logging is ticked")
    press(driver, "start")
    check("Node edge-1: started" in text(driver, "output"), "diagnostic logging started from the page")
    driver.find_element(By.ID, "marker-text").send_keys("web UI test")
    press(driver, "marker")
    check("DiagnosticLoggingMarkerResult" in text(driver, "output"), "a marker added")
    time.sleep(2)  # A few keepalives in the log.
    press(driver, "stop")
    check("stopped by the operator" in text(driver, "output"), "diagnostic logging stopped")
    press(driver, "collect")
    check("Bundle:" in text(driver, "output"), "the cluster's log collected")
    shot(driver, "maintenance-diagnostic-logging")
    driver.find_element(By.ID, "download").click()
    def downloaded():
        return [name for name in os.listdir(DOWNLOADS) if name.endswith(".tar.gz")]
    wait_for(lambda: downloaded(), "the bundle downloaded")
    bundle = os.path.join(DOWNLOADS, downloaded()[0])
    with tarfile.open(bundle) as archive:
        names = archive.getnames()
    for node in ("registrar", "core-1", "core-2", "edge-1", "edge-2"):
        check(any(f"/{node}/capture.pcap" in name for name in names), f"the bundle holds {node}'s capture")

    driver.get(EDGE + "/maintenance/diagnose")
    report = text(driver, "report").strip()
    cli = subprocess.run([EDGEWAY, "diagnose", bundle], capture_output=True, text=True, timeout=120)
    check(report.startswith("cluster:") or "verdict:" in report, "the diagnose page gives a verdict")
    check(cli.returncode == 0 and report == cli.stdout.strip(),
          f"the page's verdict is edgeway diagnose's on the downloaded bundle (page: {report!r}; cli: {cli.stdout.strip()!r})")
    shot(driver, "maintenance-diagnose")

    press(driver, "logout")
    driver.get(EDGE + "/status/overview")
    check(driver.current_url.endswith("/login"), "after logout a page needs a new login")
    lockout(CORE)


def main():
    driver = browser()
    try:
        run(driver)
    except Failed as failure:
        shot(driver, "failure")
        print("FAILED:", failure, "; page:", driver.current_url, driver.find_element(By.TAG_NAME, "body").text[:2000], flush=True)
        return 1
    finally:
        driver.quit()
    print("web UI: every check passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
