import Mustache

/// The web UI's pages as Mustache templates (swift-mustache), kept in the binary so a node needs
/// no files of its own. Every page works without JavaScript; every form carries the session's
/// CSRF token. Values are HTML-escaped by Mustache (`{{…}}`).
enum WebTemplates {
    /// The templates, compiled once.
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates {
            // The templates are constants of this file: one that does not parse is a build defect.
            try! library.register(text, named: name)
        }
        return library
    }()

    private static let templates: [String: String] = [
        "header": header, "footer": footer, "login": login, "message": message, "overview": overview,
        "registrations": registrations, "alarms": alarms, "advanced": advanced, "maintenance": maintenance,
        "diagnosticLogging": diagnosticLogging, "diagnose": diagnose, "lab": lab,
    ]

    private static let style = """
        body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
        header{background:#1d3b53;color:#fff;padding:.6em 1.2em;display:flex;align-items:center;gap:1.5em}
        header h1{font-size:1.1em;margin:0}header .who{margin-left:auto;display:flex;gap:.8em;align-items:center}
        nav{background:#e3e9ef;padding:.4em 1.2em;font-size:.92em}nav a{margin-right:1.2em;color:#1d3b53}
        nav .group{color:#5b6b7a;margin-right:.4em}main{padding:1em 1.4em}
        table{border-collapse:collapse;background:#fff;margin:.5em 0 1.2em}th,td{border:1px solid #cfd8e0;padding:.3em .6em;text-align:left;font-size:.92em}
        th{background:#eef2f5}.error{color:#a01818;font-weight:600}.warning{color:#8a5a00;font-weight:600}.ok{color:#176317;font-weight:600}
        .crumbs{color:#5b6b7a;font-size:.9em}form.inline{display:inline}pre{background:#fff;padding:1em;border:1px solid #cfd8e0;overflow:auto}
        fieldset{background:#fff;border:1px solid #cfd8e0;margin:.6em 0}button{padding:.25em .9em}
        """

    private static let header = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>{{title}} — {{node}}</title><style>\(style)</style></head>
        <body><header><h1>Edgeway · {{node}}</h1>
        {{#user}}<div class="who">Logged in as {{user}}
        <form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" id="logout">Log out</button></form></div>{{/user}}
        </header>
        {{#user}}<nav><span class="group">Status:</span><a href="/status/overview">Overview</a><a href="/status/registrations">Registrations</a><a href="/status/alarms">Alarms</a>
        <span class="group">Configuration:</span><a href="/configuration/advanced">Advanced</a>
        <span class="group">Maintenance:</span><a href="/maintenance/mode">Maintenance mode</a><a href="/maintenance/diagnostic-logging">Diagnostic logging</a><a href="/maintenance/diagnose">Diagnose</a></nav>{{/user}}
        <main><p class="crumbs">{{crumbs}}</p><h2>{{title}}</h2>
        {{#notice}}<p class="ok" id="notice">{{notice}}</p>{{/notice}}{{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
        """

    private static let footer = "</main></body></html>\n"

    private static let login = """
        {{> header}}
        <form method="post" action="/login"><input type="hidden" name="csrf" value="{{loginToken}}">
        <p><label>Username <input name="username" id="username" autocomplete="username" required></label></p>
        <p><label>Password <input name="password" id="password" type="password" autocomplete="current-password" required></label></p>
        <p><button type="submit" id="login">Log in</button></p></form>
        {{> footer}}
        """

    private static let message = "{{> header}}{{#back}}<p><a href=\"{{back}}\">Back</a></p>{{/back}}{{> footer}}"

    private static let overview = """
        {{> header}}
        <table id="summary"><tr><th>Node</th><td>{{node}}</td></tr><tr><th>Maintenance mode</th><td id="maintenance">{{maintenance}}</td></tr>
        <tr><th>Registrations</th><td>{{registrationCount}}</td></tr><tr><th>Active alarms</th><td id="active-alarm-count">{{alarmCount}}</td></tr></table>
        {{#hasAlarms}}<h3>Active alarms</h3><table id="active-alarms"><tr><th>Id</th><th>Description</th></tr>
        {{#alarms}}<tr><td>{{id}}</td><td>{{description}}</td></tr>{{/alarms}}</table>{{/hasAlarms}}
        {{#sections}}<h3>{{name}}</h3><table><tr><th>Status</th><th>Value</th></tr>{{#rows}}<tr><td>{{name}}</td><td>{{value}}</td></tr>{{/rows}}</table>{{/sections}}
        {{> footer}}
        """

    private static let registrations = """
        {{> header}}
        <form method="get" action="/status/registrations"><label>User <input name="user" id="user" value="{{search}}" placeholder="alice or sip:alice@example.com"></label>
        <button type="submit" id="search">Search</button>{{#search}} <a href="/status/registrations">Show all</a>{{/search}}</form>
        <p id="range">{{range}}</p>
        <table id="registrations"><tr><th>AOR</th><th>Device</th><th>Instance</th><th>Reg-id</th><th>Edge</th><th>Flow</th><th>AR_SK</th><th>Last keepalive</th><th>Keepalive RTT</th><th>Expires in</th></tr>
        {{#rows}}<tr><td>{{aor}}</td><td>{{device}}</td><td>{{instance}}</td><td>{{regId}}</td><td>{{edge}}</td><td>{{flow}}</td><td>{{arsk}}</td><td>{{lastKeepalive}}</td><td class="rtt">{{rtt}}</td><td>{{expiresIn}}</td></tr>{{/rows}}
        </table>
        <p>{{#previous}}<a id="previous" href="{{previous}}">Previous page</a> {{/previous}}{{#next}}<a id="next" href="{{next}}">Next page</a>{{/next}}</p>
        {{> footer}}
        """

    private static let alarms = """
        {{> header}}
        <table id="alarms"><tr><th>#</th><th>Id</th><th>Description</th><th>State</th><th>Raised</th><th>Cleared</th><th>Acknowledged</th></tr>
        {{#rows}}<tr class="alarm {{state}}"><td>{{number}}</td><td>{{id}}</td><td>{{description}}</td><td>{{state}}</td><td>{{raised}}</td><td>{{cleared}}</td>
        <td>{{#acknowledged}}{{acknowledged}}{{/acknowledged}}{{^acknowledged}}<form class="inline" method="post" action="/status/alarms/acknowledge">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="number" value="{{number}}"><button type="submit">Acknowledge</button></form>{{/acknowledged}}</td></tr>{{/rows}}
        </table>{{^rows}}<p>No alarm has been raised since the node started.</p>{{/rows}}
        {{> footer}}
        """

    private static let advanced = """
        {{> header}}
        {{#warnings}}<p class="warning">{{.}}</p>{{/warnings}}
        {{#hasSettings}}<form method="post" action="/configuration/advanced"><input type="hidden" name="csrf" value="{{csrf}}">
        <table id="settings"><tr><th>Setting</th><th>Value</th><th>Peers</th><th>About</th></tr>
        {{#settings}}<tr><td>{{name}}</td><td>{{#onOff}}<select name="{{field}}" id="{{field}}">{{#choices}}<option{{#selected}} selected{{/selected}}>{{value}}</option>{{/choices}}</select>{{/onOff}}
        {{^onOff}}<input name="{{field}}" id="{{field}}" value="{{value}}" size="10"> {{unit}}{{/onOff}}<input type="hidden" name="shown-{{field}}" value="{{value}}"></td><td>{{peers}}</td><td>{{summary}} Allowed: {{allowed}}.</td></tr>{{/settings}}
        </table><button type="submit" id="save">Save</button></form>{{/hasSettings}}
        {{^hasSettings}}<p>This node has no SIP Advanced settings.</p>{{/hasSettings}}
        {{> footer}}
        """

    private static let maintenance = """
        {{> header}}
        <p>Maintenance mode is <strong id="mode">{{mode}}</strong>. In maintenance mode a node refuses new registrations and calls
        with 503; calls in progress go on.</p>
        <form method="post" action="/maintenance/mode"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="mode" value="{{other}}"><button type="submit" id="switch">Switch maintenance mode {{other}}</button></form>
        {{> footer}}
        """

    private static let diagnosticLogging = """
        {{> header}}
        <pre id="status">{{status}}</pre>
        <fieldset><legend>Start new log</legend><form method="post" action="/maintenance/diagnostic-logging"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="action" value="start"><label><input type="checkbox" name="tcpdump" value="on" id="tcpdump" checked> Take tcpdump while logging</label>
        <button type="submit" id="start">Start new log</button></form></fieldset>
        <fieldset><legend>Add marker</legend><form method="post" action="/maintenance/diagnostic-logging"><input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="action" value="marker"><input name="text" id="marker-text" size="40" required> <button type="submit" id="marker">Add marker</button></form></fieldset>
        <fieldset><legend>Stop and collect</legend>
        <form class="inline" method="post" action="/maintenance/diagnostic-logging"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="action" value="stop"><button type="submit" id="stop">Stop logging</button></form>
        <form class="inline" method="post" action="/maintenance/diagnostic-logging"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="action" value="collect"><button type="submit" id="collect">Collect log</button></form>
        {{#bundle}}<a id="download" href="/maintenance/diagnostic-logging/download">Download {{bundle}}</a>{{/bundle}}</fieldset>
        {{#output}}<h3>Answer</h3><pre id="output">{{output}}</pre>{{/output}}
        {{> footer}}
        """

    private static let diagnose = """
        {{> header}}
        {{#report}}<p>The verdict of <code>edgeway diagnose</code> on {{bundle}}:</p><pre id="report">{{report}}</pre>{{/report}}
        {{^report}}<p id="report">No bundle has been collected on this node yet: collect one under Maintenance &gt; Diagnostics &gt; Diagnostic logging.</p>{{/report}}
        {{> footer}}
        """

    private static let lab = """
        {{> header}}
        <p>Every node of this lab has its own web UI; log in with the lab's admin account (its first password is in the lab's
        data folder, <code>admin-password</code>).</p>
        <table id="nodes"><tr><th>Node</th><th>Web UI</th></tr>{{#links}}<tr><td>{{name}}</td><td><a href="{{url}}">{{url}}</a></td></tr>{{/links}}</table>
        {{> footer}}
        """
}
