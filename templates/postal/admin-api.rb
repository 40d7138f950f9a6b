# frozen_string_literal: true

# Vibn admin API for Postal: a small JSON HTTP service that manages Postal through Postal's own
# models (User, Organization, Server, Credential, Domain, Webhook). Never SQL: model callbacks create
# message databases, DKIM keys and credential keys.
#
# Run from Postal's image, inside the stack's internal network only:
#   bin/rails runner /config/admin-api.rb
# Environment:
#   ADMIN_API_PORT (5001), ADMIN_API_BIND_ADDRESS (0.0.0.0),
#   VIBN_ADMIN_TOKEN_FILE (/config/admin-api.token): the bearer token, generated once on the host.
#
# Contract (same in tests/emulators/postal/admin_api.py; client: vibn_mail/postal/admin_client.py):
#   GET  /health                                           no auth
#   GET  /v1/default-dkim-record | /v1/inventory | /v1/users | /v1/organizations
#   PUT|GET         /v1/users/:email
#   PUT|GET|DELETE  /v1/organizations/:org
#   GET             /v1/organizations/:org/servers
#   PUT|GET|DELETE  /v1/organizations/:org/servers/:server
#   GET, PUT|GET|DELETE .../servers/:server/credentials[/:name]
#   GET, PUT|GET|DELETE .../servers/:server/webhooks[/:name]
#   GET, PUT|GET|DELETE, POST check-dns, POST verify   (.../servers/:server | /v1/organizations/:org)/domains[/:name]
# PUT is "ensure": create if absent, converge mutable fields, answer {"<kind>": ..., "result":
# "created"|"updated"|"unchanged"}. DELETE answers {"deleted": true|false}. Errors:
# {"error": {"code", "message", "field"}} with a real HTTP status.
#
# Plain Ruby that Debian's ruby 3.1 can `ruby -c`; no template syntax (the file passes through jinja2).

require "json"
require "securerandom"
require "stringio"
require "webrick"

module VibnAdminAPI

  VERSION = "1"

  class Error < StandardError

    attr_reader :status, :code, :field

    def initialize(status, code, message, field = nil)
      super(message)
      @status = status
      @code = code
      @field = field
    end

  end

  PERMALINK = /\A[a-z0-9-]+\z/.freeze
  DOMAIN_NAME = /\A[a-z0-9.-]+\z/.freeze
  WEBHOOK_EVENTS = %w[
    MessageSent MessageDelayed MessageDeliveryFailed MessageHeld MessageBounced
    MessageLinkClicked MessageLoaded DomainDNSError
  ].freeze
  SEG = "([^/]+)"
  ORG = "/v1/organizations/" + SEG
  SRV = ORG + "/servers/" + SEG

  module_function

  def invalid(field, message)
    Error.new(422, "ValidationFailed", "#{field} #{message}", field)
  end

  def not_found(kind, key)
    Error.new(404, "NotFound", "no #{kind} named #{key.inspect}")
  end

  # Save a record, turning Postal's validation errors into a 422 naming the first bad field.
  def save!(record)
    return if record.save

    error = record.errors.first
    field = error.respond_to?(:attribute) ? error.attribute.to_s : "base"
    message = error.respond_to?(:message) ? error.message : record.errors.full_messages.first
    raise invalid(field, message)
  end

  def result_of(created, changed)
    return "created" if created

    changed ? "updated" : "unchanged"
  end

  def time_f(value)
    value&.to_f
  end

  # -- JSON shapes -----------------------------------------------------------------------------------

  def user_json(user)
    {
      uuid: user.uuid, email_address: user.email_address, first_name: user.first_name,
      last_name: user.last_name, admin: user.admin ? true : false
    }
  end

  def org_json(org)
    {
      uuid: org.uuid, permalink: org.permalink, name: org.name, time_zone: org.time_zone,
      owner_email_address: org.owner&.email_address, suspended: org.suspended? ? true : false
    }
  end

  def message_database_name(server)
    db = server.message_db
    return db.database_name if db.respond_to?(:database_name)

    "#{Postal::Config.message_db.database_name_prefix}-server-#{server.id}"
  end

  def server_json(server)
    {
      id: server.id, uuid: server.uuid, organization: server.organization.permalink,
      permalink: server.permalink, name: server.name, mode: server.mode, token: server.token,
      suspended: server.suspended? ? true : false, message_database: message_database_name(server)
    }
  end

  def credential_json(credential, with_key)
    {
      uuid: credential.uuid, name: credential.name, type: credential.type,
      key: with_key ? credential.key : nil, hold: credential.hold ? true : false
    }
  end

  def check_json(status, error)
    { status: status, error: error }
  end

  def domain_json(domain)
    dns = Postal::Config.dns
    token = domain.verification_token
    {
      uuid: domain.uuid, name: domain.name, owner_type: domain.owner_type,
      verification_method: domain.verification_method, verification_token: token,
      verification_record: token.nil? ? nil : domain.dns_verification_string,
      verified: domain.verified? ? true : false, verified_at: time_f(domain.verified_at),
      dkim_record_name: domain.dkim_record_name, dkim_record: domain.dkim_record,
      spf_record: domain.spf_record, spf_include: dns.spf_include,
      return_path_name: dns.custom_return_path_prefix, return_path_domain: domain.return_path_domain,
      return_path_target: dns.return_path_domain, mx_records: dns.mx_records.to_a.map(&:to_s),
      dns_checked_at: time_f(domain.dns_checked_at), dns_ok: domain.dns_ok? ? true : false,
      checks: {
        spf: check_json(domain.spf_status, domain.spf_error),
        dkim: check_json(domain.dkim_status, domain.dkim_error),
        mx: check_json(domain.mx_status, domain.mx_error),
        return_path: check_json(domain.return_path_status, domain.return_path_error)
      }
    }
  end

  def webhook_json(webhook)
    {
      uuid: webhook.uuid, name: webhook.name, url: webhook.url, all_events: webhook.all_events ? true : false,
      events: webhook.all_events ? [] : webhook.events.sort, enabled: webhook.enabled ? true : false
    }
  end

  # -- lookups ---------------------------------------------------------------------------------------

  def find_org(permalink)
    Organization.present.find_by(permalink: permalink) || raise(not_found("organization", permalink))
  end

  def find_server(org_permalink, permalink)
    org = find_org(org_permalink)
    org.servers.present.find_by(permalink: permalink) || raise(not_found("server", "#{org_permalink}/#{permalink}"))
  end

  def find_owner(org_permalink, server_permalink)
    return find_org(org_permalink) if server_permalink.nil?

    find_server(org_permalink, server_permalink)
  end

  def owner_domains(owner)
    Domain.where(owner_type: owner.class.name, owner_id: owner.id).order(:name)
  end

  # -- users -----------------------------------------------------------------------------------------

  def ensure_user(email, body)
    raise invalid("email_address", "is invalid") unless email.include?("@")

    first_name = body["first_name"].to_s
    last_name = body["last_name"].to_s
    raise invalid("first_name", "can't be blank") if first_name.empty?
    raise invalid("last_name", "can't be blank") if last_name.empty?

    password = body["password"]
    user = User.find_by(email_address: email)
    if !password.nil? && password.to_s.length < 8 && (user.nil? || body["reset_password"])
      raise invalid("password", "is too short (minimum is 8 characters)")
    end

    created = user.nil?
    if created
      raise invalid("password", "can't be blank") if password.to_s.empty?

      user = User.new(email_address: email, email_verified_at: Time.now)
      user.password = password.to_s
    elsif body["reset_password"] && !password.to_s.empty?
      user.password = password.to_s
    end
    user.first_name = first_name
    user.last_name = last_name
    user.admin = body["admin"] ? true : false
    changed = user.changed?
    save!(user) if changed
    { user: user_json(user), result: result_of(created, changed) }
  end

  def get_user(email)
    user = User.find_by(email_address: email) || raise(not_found("user", email))
    { user: user_json(user) }
  end

  # -- organizations ---------------------------------------------------------------------------------

  def ensure_organization(permalink, body)
    raise invalid("permalink", "is invalid: use a-z, 0-9 and '-'") unless PERMALINK.match?(permalink)

    name = body["name"].to_s
    raise invalid("name", "can't be blank") if name.empty?

    owner_email = body["owner_email_address"].to_s
    raise invalid("owner_email_address", "is invalid") unless owner_email.include?("@")

    owner = User.find_by(email_address: owner_email)
    if owner.nil?
      ensure_user(owner_email, {
        "first_name" => body["owner_first_name"] || "Vibn", "last_name" => body["owner_last_name"] || "Platform",
        "password" => SecureRandom.alphanumeric(32)
      })
      owner = User.find_by(email_address: owner_email)
    end
    org = Organization.present.find_by(permalink: permalink)
    created = org.nil?
    org = Organization.new(permalink: permalink) if created
    org.name = name
    org.time_zone = body["time_zone"].to_s.empty? ? "UTC" : body["time_zone"].to_s
    org.owner = owner
    changed = org.changed?
    save!(org) if changed
    if org.organization_users.where(user: owner).empty?
      org.organization_users.create!(user: owner, admin: true, all_servers: true)
    end
    { organization: org_json(org), result: result_of(created, changed) }
  end

  def delete_organization(permalink)
    org = Organization.present.find_by(permalink: permalink)
    return { deleted: false } if org.nil?

    org.servers.present.each(&:soft_destroy)
    org.soft_destroy
    { deleted: true }
  end

  # -- servers ---------------------------------------------------------------------------------------

  def ensure_server(org_permalink, permalink, body)
    org = find_org(org_permalink)
    raise invalid("permalink", "is invalid: use a-z, 0-9 and '-'") unless PERMALINK.match?(permalink)

    name = body["name"].to_s
    raise invalid("name", "can't be blank") if name.empty?

    mode = body.fetch("mode", "Live").to_s
    raise invalid("mode", "is not included in the list (Live, Development)") unless Server::MODES.include?(mode)

    server = org.servers.present.find_by(permalink: permalink)
    created = server.nil?
    server = org.servers.new(permalink: permalink) if created
    server.name = name
    server.mode = mode
    changed = server.changed?
    save!(server) if changed
    { server: server_json(server), result: result_of(created, changed) }
  end

  def delete_server(org_permalink, permalink)
    server = find_org(org_permalink).servers.present.find_by(permalink: permalink)
    return { deleted: false } if server.nil?

    server.soft_destroy
    { deleted: true }
  end

  # -- credentials -----------------------------------------------------------------------------------

  def ensure_credential(org_permalink, server_permalink, name, body)
    server = find_server(org_permalink, server_permalink)
    type = body["type"].to_s
    raise invalid("type", "must be API or SMTP") unless %w[API SMTP].include?(type)

    credential = server.credentials.find_by(name: name)
    created = credential.nil?
    credential = server.credentials.new(name: name, type: type) if created
    if credential.type != type
      raise Error.new(409, "Conflict", "credential #{name.inspect} exists with type #{credential.type}; " \
                                       "delete it to change the type", "type")
    end

    credential.hold = body["hold"] ? true : false
    changed = credential.changed?
    save!(credential) if changed
    { credential: credential_json(credential, true), result: result_of(created, changed) }
  end

  def find_credential(org_permalink, server_permalink, name)
    find_server(org_permalink, server_permalink).credentials.find_by(name: name) ||
      raise(not_found("credential", name))
  end

  # -- domains ---------------------------------------------------------------------------------------

  def find_domain(org_permalink, server_permalink, name)
    owner_domains(find_owner(org_permalink, server_permalink)).find_by(name: name) || raise(not_found("domain", name))
  end

  def ensure_domain(org_permalink, server_permalink, name, body)
    owner = find_owner(org_permalink, server_permalink)
    raise invalid("name", "is invalid: use lower-case a-z, 0-9, '.' and '-'") unless DOMAIN_NAME.match?(name)

    method = body.fetch("verification_method", "DNS").to_s
    unless Domain::VERIFICATION_METHODS.include?(method)
      raise invalid("verification_method", "is not included in the list (DNS, Email)")
    end

    domain = owner_domains(owner).find_by(name: name)
    created = domain.nil?
    domain = Domain.new(owner: owner, name: name) if created
    domain.verification_method = method
    domain.verified_at = Time.now if body["verified"] && !domain.verified?
    changed = domain.changed?
    save!(domain) if changed
    { domain: domain_json(domain), result: result_of(created, changed) }
  end

  def delete_domain(org_permalink, server_permalink, name)
    domain = owner_domains(find_owner(org_permalink, server_permalink)).find_by(name: name)
    return { deleted: false } if domain.nil?

    domain.destroy!
    { deleted: true }
  end

  def check_dns(org_permalink, server_permalink, name)
    domain = find_domain(org_permalink, server_permalink, name)
    domain.check_dns(:manual)
    { domain: domain_json(domain.reload) }
  end

  def verify_domain(org_permalink, server_permalink, name)
    domain = find_domain(org_permalink, server_permalink, name)
    domain.verify_with_dns unless domain.verified?
    { domain: domain_json(domain.reload) }
  end

  # -- webhooks --------------------------------------------------------------------------------------

  def ensure_webhook(org_permalink, server_permalink, name, body)
    server = find_server(org_permalink, server_permalink)
    url = body["url"].to_s
    raise invalid("url", "can't be blank") if url.empty?

    events = Array(body["events"]).map(&:to_s)
    unknown = events - WEBHOOK_EVENTS
    raise invalid("events", "has unknown events #{unknown}; known: #{WEBHOOK_EVENTS.join(', ')}") if unknown.any?

    all_events = body.fetch("all_events", true) ? true : false
    events = all_events ? [] : events.uniq.sort
    webhook = server.webhooks.find_by(name: name)
    created = webhook.nil?
    webhook = server.webhooks.new(name: name) if created
    events_changed = created || (all_events ? [] : webhook.events.sort) != events
    webhook.url = url
    webhook.all_events = all_events
    webhook.enabled = body.fetch("enabled", true) ? true : false
    webhook.events = events if events_changed
    changed = webhook.changed? || events_changed
    save!(webhook) if changed
    { webhook: webhook_json(webhook.reload), result: result_of(created, changed) }
  end

  def find_webhook(org_permalink, server_permalink, name)
    find_server(org_permalink, server_permalink).webhooks.find_by(name: name) || raise(not_found("webhook", name))
  end

  # -- misc ------------------------------------------------------------------------------------------

  def default_dkim_record
    public_key = Postal.signer.private_key.public_key.to_s.gsub(/-+[A-Z ]+-+\n/, "").gsub(/\n/, "")
    { record: "v=DKIM1; t=s; h=sha256; p=#{public_key};" }
  end

  def inventory
    organizations = Organization.present.order(:permalink).map do |org|
      servers = org.servers.present.order(:permalink).map do |server|
        {
          server: server_json(server),
          credentials: server.credentials.order(:name).map { |c| credential_json(c, false) },
          domains: owner_domains(server).map { |d| domain_json(d) },
          webhooks: server.webhooks.order(:name).map { |w| webhook_json(w) }
        }
      end
      { organization: org_json(org), domains: owner_domains(org).map { |d| domain_json(d) }, servers: servers }
    end
    { users: User.order(:email_address).map { |u| user_json(u) }, organizations: organizations }
  end

  # -- routing ---------------------------------------------------------------------------------------

  def route(pattern)
    Regexp.new("\\A" + pattern + "\\z")
  end

  ROUTES = [
    ["GET", route("/v1/default-dkim-record"), ->(_p, _b) { default_dkim_record }],
    ["GET", route("/v1/inventory"), ->(_p, _b) { inventory }],
    ["GET", route("/v1/users"), ->(_p, _b) { { users: User.order(:email_address).map { |u| user_json(u) } } }],
    ["PUT", route("/v1/users/" + SEG), ->(p, b) { ensure_user(p[0], b) }],
    ["GET", route("/v1/users/" + SEG), ->(p, _b) { get_user(p[0]) }],
    ["GET", route("/v1/organizations"),
     ->(_p, _b) { { organizations: Organization.present.order(:permalink).map { |o| org_json(o) } } }],
    ["PUT", route(ORG), ->(p, b) { ensure_organization(p[0], b) }],
    ["GET", route(ORG), ->(p, _b) { { organization: org_json(find_org(p[0])) } }],
    ["DELETE", route(ORG), ->(p, _b) { delete_organization(p[0]) }],
    ["GET", route(ORG + "/servers"),
     ->(p, _b) { { servers: find_org(p[0]).servers.present.order(:permalink).map { |s| server_json(s) } } }],
    ["PUT", route(SRV), ->(p, b) { ensure_server(p[0], p[1], b) }],
    ["GET", route(SRV), ->(p, _b) { { server: server_json(find_server(p[0], p[1])) } }],
    ["DELETE", route(SRV), ->(p, _b) { delete_server(p[0], p[1]) }],
    ["GET", route(SRV + "/credentials"),
     ->(p, _b) { { credentials: find_server(p[0], p[1]).credentials.order(:name).map { |c| credential_json(c, false) } } }],
    ["PUT", route(SRV + "/credentials/" + SEG), ->(p, b) { ensure_credential(p[0], p[1], p[2], b) }],
    ["GET", route(SRV + "/credentials/" + SEG),
     ->(p, _b) { { credential: credential_json(find_credential(p[0], p[1], p[2]), true) } }],
    ["DELETE", route(SRV + "/credentials/" + SEG),
     lambda do |p, _b|
       credential = find_server(p[0], p[1]).credentials.find_by(name: p[2])
       credential&.destroy!
       { deleted: !credential.nil? }
     end],
    ["GET", route(SRV + "/webhooks"),
     ->(p, _b) { { webhooks: find_server(p[0], p[1]).webhooks.order(:name).map { |w| webhook_json(w) } } }],
    ["PUT", route(SRV + "/webhooks/" + SEG), ->(p, b) { ensure_webhook(p[0], p[1], p[2], b) }],
    ["GET", route(SRV + "/webhooks/" + SEG), ->(p, _b) { { webhook: webhook_json(find_webhook(p[0], p[1], p[2])) } }],
    ["DELETE", route(SRV + "/webhooks/" + SEG),
     lambda do |p, _b|
       webhook = find_server(p[0], p[1]).webhooks.find_by(name: p[2])
       webhook&.destroy!
       { deleted: !webhook.nil? }
     end]
  ]

  # Domains belong to a server or to an organization: one set of routes per owner, server first.
  [[SRV, 2], [ORG, 1]].each do |owner, count|
    dom = owner + "/domains/" + SEG
    server_of = ->(p) { count == 2 ? p[1] : nil }
    ROUTES.push(
      ["GET", route(owner + "/domains"),
       ->(p, _b) { { domains: owner_domains(find_owner(p[0], server_of.call(p))).map { |d| domain_json(d) } } }],
      ["PUT", route(dom), ->(p, b) { ensure_domain(p[0], server_of.call(p), p[count], b) }],
      ["GET", route(dom), ->(p, _b) { { domain: domain_json(find_domain(p[0], server_of.call(p), p[count])) } }],
      ["DELETE", route(dom), ->(p, _b) { delete_domain(p[0], server_of.call(p), p[count]) }],
      ["POST", route(dom + "/check-dns"), ->(p, _b) { check_dns(p[0], server_of.call(p), p[count]) }],
      ["POST", route(dom + "/verify"), ->(p, _b) { verify_domain(p[0], server_of.call(p), p[count]) }]
    )
  end
  ROUTES.freeze

  # Rack application: authenticate, route, run the handler on a pooled DB connection, answer JSON.
  class App

    def initialize(token)
      raise ArgumentError, "admin API token must be at least 16 characters" if token.to_s.length < 16

      @expected = "Bearer #{token}"
    end

    def call(env)
      method = env["REQUEST_METHOD"]
      path = env["PATH_INFO"].to_s
      if path == "/health" && method == "GET"
        return json(200, { status: "ok", postal_version: Postal.version.to_s })
      end

      supplied = env["HTTP_AUTHORIZATION"].to_s
      unless ActiveSupport::SecurityUtils.secure_compare(supplied, @expected)
        raise Error.new(401, "Unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)")
      end

      hits = ROUTES.map { |m, rx, handler| [m, handler, rx.match(path)] }.reject { |hit| hit[2].nil? }
      raise Error.new(404, "NotFound", "no route for #{path}") if hits.empty?

      chosen = hits.find { |hit| hit[0] == method }
      if chosen.nil?
        allowed = hits.map(&:first).uniq.sort.join(", ")
        raise Error.new(405, "MethodNotAllowed", "#{method} not allowed here; use #{allowed}")
      end

      params = chosen[2].captures.map { |c| Rack::Utils.unescape_path(c) }
      body = read_body(env)
      result = ActiveRecord::Base.connection_pool.with_connection { chosen[1].call(params, body) }
      json(200, result)
    rescue Error => e
      json(e.status, { error: { code: e.code, message: e.message, field: e.field } })
    rescue ActiveRecord::ConnectionNotEstablished, ActiveRecord::StatementInvalid => e
      # A MariaDB restart leaves dead pooled connections (Postal #2780): drop them so the next call reconnects.
      ActiveRecord::Base.connection_pool.disconnect!
      json(503, { error: { code: "DatabaseUnavailable", message: "database error: #{e.class}", field: nil } })
    rescue StandardError => e
      warn "admin-api: #{e.class}: #{e.message}\n#{Array(e.backtrace).first(5).join("\n")}"
      json(500, { error: { code: "InternalError", message: e.class.to_s, field: nil } })
    end

    private

    def read_body(env)
      input = env["rack.input"]
      raw = input.nil? ? "" : input.read.to_s
      return {} if raw.strip.empty?

      body = begin
        JSON.parse(raw)
      rescue JSON::ParserError
        raise Error.new(400, "BadRequest", "request body is not valid JSON")
      end
      raise Error.new(400, "BadRequest", "request body must be a JSON object") unless body.is_a?(Hash)

      body
    end

    def json(status, payload)
      [status, { "content-type" => "application/json" }, [JSON.generate(payload)]]
    end

  end

  # Serve a Rack app with WEBrick from the bundle, without depending on rackup's handler registry.
  class WEBrickAdapter < WEBrick::HTTPServlet::AbstractServlet

    def initialize(server, app)
      super(server)
      @app = app
    end

    def service(req, res)
      env = {
        "REQUEST_METHOD" => req.request_method, "PATH_INFO" => req.request_uri.path, "QUERY_STRING" => req.query_string.to_s,
        "HTTP_AUTHORIZATION" => req["Authorization"].to_s, "rack.input" => StringIO.new(req.body.to_s)
      }
      status, headers, body = @app.call(env)
      res.status = status
      headers.each { |key, value| res[key] = value }
      res.body = body.join
    end

  end

  def serve
    token_file = ENV.fetch("VIBN_ADMIN_TOKEN_FILE", "/config/admin-api.token")
    abort "admin-api: token file #{token_file} missing; set VIBN_ADMIN_TOKEN_FILE" unless File.exist?(token_file)

    app = App.new(File.read(token_file).strip)
    server = WEBrick::HTTPServer.new(
      BindAddress: ENV.fetch("ADMIN_API_BIND_ADDRESS", "0.0.0.0"),
      Port: Integer(ENV.fetch("ADMIN_API_PORT", "5001")),
      AccessLog: [],
      Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN)
    )
    server.mount("/", WEBrickAdapter, app)
    %w[INT TERM].each { |signal| trap(signal) { server.shutdown } }
    warn "admin-api: listening on #{ENV.fetch('ADMIN_API_BIND_ADDRESS', '0.0.0.0')}:#{ENV.fetch('ADMIN_API_PORT', '5001')}"
    server.start
  end

end

VibnAdminAPI.serve unless ENV["VIBN_ADMIN_API_NO_SERVE"]
