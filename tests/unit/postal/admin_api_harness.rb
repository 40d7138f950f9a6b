# Loads templates/postal/admin-api.rb outside Postal, with the few Rails/Postal constants it touches
# replaced by stand-ins, and prints the answers of its Rack app to a scripted set of requests as JSON.
# Exercises authentication, routing, error JSON and the DB-error path; model behaviour is the
# contract suite's job.
require "json"
require "stringio"

module ActiveSupport
  module SecurityUtils
    def self.secure_compare(a, b)
      a == b
    end
  end
end

module Rack
  module Utils
    def self.unescape_path(value)
      value.gsub(/%([0-9A-Fa-f]{2})/) { [Regexp.last_match(1)].pack("H2") }
    end
  end
end

module ActiveRecord
  class ConnectionNotEstablished < StandardError; end
  class StatementInvalid < StandardError; end

  class Pool
    def with_connection
      yield
    end

    def disconnect!
      $disconnected = true
    end
  end

  class Base
    def self.connection_pool
      Pool.new
    end
  end
end

module Postal
  def self.version
    "3.3.6"
  end
end

class Organization
  def self.present
    self
  end

  def self.find_by(permalink:)
    raise ActiveRecord::ConnectionNotEstablished, "gone" if permalink == "db-down"

    $looked_up = permalink
    nil
  end
end

ENV["VIBN_ADMIN_API_NO_SERVE"] = "1"
load ARGV.fetch(0)

app = VibnAdminAPI::App.new("t" * 32)
auth = "Bearer " + ("t" * 32)
requests = [
  ["GET", "/health", nil, nil],
  ["GET", "/v1/inventory", nil, nil],
  ["GET", "/v1/inventory", "Bearer wrong", nil],
  ["GET", "/v1/nothing-here", auth, nil],
  ["POST", "/v1/organizations", auth, nil],
  ["PUT", "/v1/organizations/acme", auth, "{not json"],
  ["PUT", "/v1/organizations/acme", auth, "[1]"],
  ["PUT", "/v1/organizations/Bad%20Name", auth, "{}"],
  ["GET", "/v1/organizations/acme%2Dco", auth, nil],
  ["GET", "/v1/organizations/db-down", auth, nil]
]
answers = requests.map do |method, path, authorization, body|
  env = { "REQUEST_METHOD" => method, "PATH_INFO" => path, "rack.input" => StringIO.new(body.to_s) }
  env["HTTP_AUTHORIZATION"] = authorization if authorization
  status, headers, chunks = app.call(env)
  { "status" => status, "content_type" => headers["content-type"], "body" => JSON.parse(chunks.join) }
end
puts JSON.generate("answers" => answers, "looked_up" => $looked_up, "disconnected" => $disconnected ? true : false)
