import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.*;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** Drives Debian's pgJDBC against the recording PostgreSQL (log_statement=all), so that what
 *  the driver and the JDBC-based BI tools send lands in the server log (record.py parses it).
 *
 *  java ReplayRecorder MODE PORT USER [SCRIPT]
 *    pgjdbc    the DatabaseMetaData calls DBeaver, Metabase and Tableau make through the
 *              driver, a prepared statement past prepareThreshold, and a setFetchSize read
 *    metabase  the connection set-up Metabase's sql-jdbc driver does, then SCRIPT
 *    dbeaver   DBeaver's metadata connection (client info), then SCRIPT
 *    tableau   Tableau's JDBC connection (autocommit), then SCRIPT
 *
 *  SCRIPT holds statements separated by lines ";"; a statement's leading lines
 *  "-- param long: 2200" / "-- param string: x" are bound to its ? placeholders in order,
 *  as the tool binds them (setLong / setString). Every result is read as the tools read
 *  it: column types from ResultSetMetaData, then every value with getObject, which is what
 *  makes pgJDBC look unknown types up in pg_type. */
public class ReplayRecorder {
  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String url = "jdbc:postgresql://127.0.0.1:" + args[1] + "/postgres?sslmode=disable";
    Properties props = new Properties();
    props.setProperty("user", args[2]);
    props.setProperty("password", "unused");  // the recording server trusts loopback
    try (Connection c = DriverManager.getConnection(url, props)) {
      switch (mode) {
        case "pgjdbc" -> metadata(c);
        case "metabase" -> {
          // sql-jdbc.execute/do-with-connection-with-options: the pool reads the isolation
          // level, set-best-transaction-level! picks READ UNCOMMITTED, then read-only,
          // no autocommit, CLOSE_CURSORS_AT_COMMIT
          c.getTransactionIsolation();
          if (c.getMetaData().supportsTransactionIsolationLevel(
              Connection.TRANSACTION_READ_UNCOMMITTED)) {
            c.setTransactionIsolation(Connection.TRANSACTION_READ_UNCOMMITTED);
          }
          c.setReadOnly(true);
          c.setAutoCommit(false);
          c.setHoldability(ResultSet.CLOSE_CURSORS_AT_COMMIT);
          drain(c.getMetaData().getSchemas());  // syncable-schemas: JDBC getSchemas
          script(c, Path.of(args[3]));
          c.rollback();
        }
        case "dbeaver" -> {
          c.setClientInfo("ApplicationName", "DBeaver 7.3.0 - Metadata");
          script(c, Path.of(args[3]));
        }
        case "tableau" -> script(c, Path.of(args[3]));
        default -> throw new IllegalArgumentException("unknown mode " + mode);
      }
    }
  }

  static void metadata(Connection c) throws SQLException {
    DatabaseMetaData md = c.getMetaData();
    System.out.println("product " + md.getDatabaseProductName() + " "
        + md.getDatabaseProductVersion() + " driver " + md.getDriverVersion());
    drain(md.getSchemas());
    drain(md.getCatalogs());
    drain(md.getTables(null, null, "%", new String[] {"TABLE", "VIEW"}));
    drain(md.getColumns(null, "public", "customer_360", "%"));
    drain(md.getPrimaryKeys(null, "hubspot", "deals"));
    drain(md.getImportedKeys(null, "hubspot", "deals"));
    drain(md.getIndexInfo(null, "hubspot", "deals", false, true));
    drain(md.getTypeInfo());
    drain(md.getTableTypes());
    md.getSQLKeywords();  // DBeaver's SQL dialect and Hibernate read the keyword list
    c.getTransactionIsolation();  // SHOW TRANSACTION ISOLATION LEVEL
    String sql = "SELECT count(*) FROM hubspot.deals WHERE amount > ?";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < 6; i++) {  // the fifth execution switches to a named statement
        ps.setDouble(1, i * 1000.0);
        drain(ps.executeQuery());
      }
    }
    c.setAutoCommit(false);  // pgJDBC reads in batches only inside a transaction
    try (Statement st = c.createStatement()) {
      st.setFetchSize(2);
      drain(st.executeQuery("SELECT id, dealname, amount, closedate FROM hubspot.deals"));
    }
    c.commit();
  }

  static void script(Connection c, Path file) throws Exception {
    for (String block : Files.readString(file).split("\n;\n")) {
      List<String[]> params = new ArrayList<>();
      StringBuilder sql = new StringBuilder();
      for (String line : block.split("\n", -1)) {
        if (sql.length() == 0 && line.startsWith("-- param ")) {
          String[] kv = line.substring(9).split(": ", 2);
          params.add(kv);
        } else {
          sql.append(sql.length() == 0 ? "" : "\n").append(line);
        }
      }
      if (sql.toString().isBlank()) {
        continue;
      }
      try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
        for (int i = 0; i < params.size(); i++) {
          if (params.get(i)[0].equals("long")) {
            ps.setLong(i + 1, Long.parseLong(params.get(i)[1]));
          } else {
            ps.setString(i + 1, params.get(i)[1]);
          }
        }
        if (ps.execute()) {
          drain(ps.getResultSet());
        }
      } catch (SQLException e) {  // a probe the server refuses; the log shows the error
        System.err.println("refused: " + e.getMessage());
        if (!c.getAutoCommit()) {
          c.rollback();
        }
      }
    }
  }

  static void drain(ResultSet rs) throws SQLException {
    try (rs) {
      ResultSetMetaData meta = rs.getMetaData();
      for (int i = 1; i <= meta.getColumnCount(); i++) {
        meta.getColumnType(i);
        meta.getColumnTypeName(i);
      }
      while (rs.next()) {
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          rs.getObject(i);
        }
      }
    }
  }
}
